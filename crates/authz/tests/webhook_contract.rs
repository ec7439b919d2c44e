//! The request a tenant's webhook receives and the answers it may give.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use std::time::Duration;

use authz::{AuthorizerConfig, AuthzError, Decision, PolicyKind};
use hmac::{Hmac, Mac};
use support::{APP, TENANT, TID, USER, allow, authorizer, now, subject, webhook, webhook_policy};

const SECRET: &[u8] = b"whsec-contoso-0123456789";

#[tokio::test]
async fn an_allow_answer_allows() {
    let server = webhook(allow(true), 1).await;
    let policy = webhook_policy(&server, SECRET, Duration::ZERO);
    let decision =
        authorizer(AuthorizerConfig::default()).check(&policy, Some("vendor-artifact"), &subject()).await;
    assert_eq!(
        decision,
        Ok(Decision::Allowed { policy: PolicyKind::Webhook, cached: false, expires_at: None })
    );
}

#[tokio::test]
async fn a_deny_answer_is_invalid_authorization_in_the_services_words() {
    let server = webhook(allow(false), 1).await;
    let policy = webhook_policy(&server, SECRET, Duration::ZERO);
    let error =
        authorizer(AuthorizerConfig::default()).check(&policy, Some("b"), &subject()).await.unwrap_err();
    assert_eq!(error, AuthzError::Denied);
    assert_eq!((error.code(), error.status()), ("invalid_authorization", 401));
    assert_eq!(error.to_string(), "denied by the tenant's authorization service");
}

#[tokio::test]
async fn the_request_carries_the_exact_body_a_verifiable_signature_and_the_bearer() {
    let server = webhook(allow(true), 1).await;
    let policy = webhook_policy(&server, SECRET, Duration::ZERO);
    authorizer(AuthorizerConfig::default())
        .check(&policy, Some("vendor.artifact-42"), &subject())
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let [request] = requests.as_slice() else { panic!("expected one call, got {}", requests.len()) };
    let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        String::from_utf8(request.body.clone()).unwrap(),
        format!(r#"{{"tenant":"{TENANT}","tid":"{TID}","oid":"{USER}","appId":"{APP}"}}"#)
    );
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("x-acsgw-authorization"), "Bearer vendor.artifact-42");

    let timestamp = header("x-acsgw-timestamp");
    assert!((timestamp.parse::<i64>().unwrap() - now()).abs() < 300, "a current unix time");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(header("x-acsgw-signature"), format!("v1={expected}"));
}

#[tokio::test]
async fn the_signature_does_not_verify_under_another_secret() {
    let server = webhook(allow(true), 1).await;
    let policy = webhook_policy(&server, b"the-tenants-real-secret", Duration::ZERO);
    authorizer(AuthorizerConfig::default()).check(&policy, Some("b"), &subject()).await.unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    let timestamp = request.headers.get("x-acsgw-timestamp").unwrap().to_str().unwrap();
    let signature = request.headers.get("x-acsgw-signature").unwrap().to_str().unwrap();
    let hex = signature.strip_prefix("v1=").unwrap();
    let raw: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let verify = |secret: &[u8]| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(&request.body);
        mac.verify_slice(&raw).is_ok()
    };
    assert!(verify(b"the-tenants-real-secret"));
    assert!(!verify(b"a-guessed-secret"));
}

#[tokio::test]
async fn extra_members_in_the_answer_are_ignored() {
    let answer = wiremock::ResponseTemplate::new(200)
        .set_body_json(serde_json::json!({"allow": true, "reason": "subscription active"}));
    let server = webhook(answer, 1).await;
    let policy = webhook_policy(&server, SECRET, Duration::ZERO);
    assert!(authorizer(AuthorizerConfig::default()).check(&policy, Some("b"), &subject()).await.is_ok());
}
