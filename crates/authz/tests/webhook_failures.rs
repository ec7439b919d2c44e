//! A webhook that cannot answer fails closed: `upstream_unavailable`, never an allow, never cached.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use std::time::Duration;

use authz::{AuthorizerConfig, AuthzError, Policy, ServiceFailure};
use support::{allow, authorizer, subject, webhook, webhook_policy};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

async fn failure(policy: &Policy) -> AuthzError {
    authorizer(AuthorizerConfig::default()).check(policy, Some("b"), &subject()).await.unwrap_err()
}

fn assert_unavailable(error: &AuthzError) {
    assert_eq!((error.code(), error.status()), ("upstream_unavailable", 503), "{error:?}");
    assert_eq!(error.to_string(), "authorization service unavailable");
}

#[tokio::test]
async fn a_webhook_slower_than_the_timeout_is_unavailable() {
    let server = webhook(allow(true).set_delay(Duration::from_secs(3)), 1).await;
    let Policy::Webhook { url, secret, cache_for, .. } = webhook_policy(&server, b"s", Duration::ZERO) else {
        unreachable!()
    };
    let policy = Policy::Webhook { url, secret, cache_for, timeout: Duration::from_millis(100) };
    let error = failure(&policy).await;
    assert_unavailable(&error);
    assert_eq!(error, AuthzError::ServiceUnavailable(ServiceFailure::Timeout));
    assert_eq!(error.reason(), "webhook_timeout");
}

#[tokio::test]
async fn a_server_error_is_unavailable() {
    let server = webhook(ResponseTemplate::new(500), 1).await;
    let error = failure(&webhook_policy(&server, b"s", Duration::ZERO)).await;
    assert_eq!(error, AuthzError::ServiceUnavailable(ServiceFailure::Status(500)));
}

#[tokio::test]
async fn other_statuses_and_redirects_are_unavailable_and_redirects_are_not_followed() {
    let elsewhere = webhook(allow(true), 0).await;
    for status in [201, 204, 302, 401, 403, 404, 429] {
        let answer = ResponseTemplate::new(status)
            .insert_header("location", format!("{}/authorize", elsewhere.uri()))
            .set_body_json(serde_json::json!({"allow": true}));
        let server = webhook(answer, 1).await;
        let error = failure(&webhook_policy(&server, b"s", Duration::ZERO)).await;
        assert_unavailable(&error);
        assert_eq!(error, AuthzError::ServiceUnavailable(ServiceFailure::Status(status)));
    }
}

#[tokio::test]
async fn answers_that_are_not_an_allow_boolean_are_unavailable() {
    for body in [
        "not json",
        "",
        "{}",
        r#"{"allow":"true"}"#,
        r#"{"allow":1}"#,
        "[true]",
        r#"{"allow":true,"allow":false}"#,
    ] {
        let server = webhook(ResponseTemplate::new(200).set_body_string(body), 1).await;
        let error = failure(&webhook_policy(&server, b"s", Duration::ZERO)).await;
        assert_unavailable(&error);
        assert_eq!(error, AuthzError::ServiceUnavailable(ServiceFailure::Malformed), "{body}");
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_unavailable() {
    let server = MockServer::start().await;
    let policy = webhook_policy(&server, b"s", Duration::ZERO);
    drop(server);
    let error = failure(&policy).await;
    assert_unavailable(&error);
}

#[tokio::test]
async fn failures_are_not_cached_so_the_next_check_asks_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(allow(true)).expect(1).mount(&server).await;
    let policy = webhook_policy(&server, b"s", Duration::from_secs(60));
    let authz = authorizer(AuthorizerConfig::default());
    assert_unavailable(&authz.check(&policy, Some("b"), &subject()).await.unwrap_err());
    assert!(authz.check(&policy, Some("b"), &subject()).await.is_ok());
    assert!(authz.check(&policy, Some("b"), &subject()).await.is_ok());
}
