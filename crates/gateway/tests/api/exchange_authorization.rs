//! Artifact B end to end: each policy allows the right user and refuses the rest.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use devstack::issuer::MintRequest;
use registry::domain::TenantSlug;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

use crate::{
    helpers::{APP_ID, ENTRA_TENANT, assert_problem},
    upstreams::{USER_ID, spawn_exchange_app},
};

const HS_SECRET: &str = "vendor-hs256-secret-that-is-long-enough-123456";

fn vendor_jwt(sub_oid: &str, exp_in: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": "https://auth.contoso.example", "aud": "contoso-calling", "oid": sub_oid,
        "iat": now, "nbf": now, "exp": now + exp_in, "plan": "premium"});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn a_jwt_policy_allows_the_same_user_and_refuses_others() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let policy = json!({"type": "jwt", "issuer": "https://auth.contoso.example", "audience": "contoso-calling",
        "hs256Secret": HS_SECRET, "requiredClaims": {"plan": "premium"}});
    let slug = app.create_exchange_tenant(&up, &json!({"authorization": policy})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), Some(&vendor_jwt(USER_ID, 600))).await.status(), StatusCode::OK);
    let other = vendor_jwt("99999999-0000-4000-8000-000000000001", 600);
    assert_problem(app.exchange(&slug, &up.a1(), Some(&other)).await, StatusCode::FORBIDDEN, "user_mismatch")
        .await;
    let expired = vendor_jwt(USER_ID, -600);
    let body = assert_problem(
        app.exchange(&slug, &up.a1(), Some(&expired)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_authorization",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
    assert_problem(
        app.exchange(&slug, &up.a1(), None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_authorization",
    )
    .await;
    assert_eq!(up.acs_exchanges(), 1);
}

#[tokio::test]
async fn a_b_accepted_under_one_tenant_version_is_checked_again_under_the_next() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let policy = json!({"type": "jwt", "issuer": "https://auth.contoso.example", "audience": "contoso-calling",
        "hs256Secret": HS_SECRET, "requiredClaims": {"plan": "premium"}});
    let slug = app.create_exchange_tenant(&up, &json!({"authorization": policy})).await;
    let b = vendor_jwt(USER_ID, 600);
    for _ in 0..2 {
        assert_eq!(app.exchange(&slug, &up.a1(), Some(&b)).await.status(), StatusCode::OK);
    }

    let mut changes = app.tenant_cache.subscribe();
    let patch = json!({"authorization": {"requiredClaims": {"plan": "enterprise"}}});
    assert_eq!(app.patch_tenant(&slug, Some("\"1\""), &patch).await.status(), StatusCode::OK);
    let parsed = TenantSlug::parse(&slug).unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while app.tenant_cache.get(&parsed).await.unwrap().map(|tenant| tenant.version) != Some(2) {
            changes.recv().await.unwrap();
        }
    })
    .await
    .unwrap();

    let body = assert_problem(
        app.exchange(&slug, &up.a1(), Some(&b)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_authorization",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("plan"), "{body}");
    assert_eq!(up.acs_exchanges(), 2, "B was refused before ACS was called");
}

#[tokio::test]
async fn an_entra_policy_checks_b_as_an_entra_token_of_the_same_user() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let policy = json!({"type": "entra", "audience": "api://contoso", "requiredScopes": ["access_as_user"]});
    let slug = app.create_exchange_tenant(&up, &json!({"authorization": policy})).await;
    let b_for = |oid: &str, scopes: &[&str]| {
        up.mint(&MintRequest {
            audience: Some("api://contoso".into()),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..MintRequest::new(ENTRA_TENANT, oid, "cccccccc-0000-4000-8000-00000000000c")
        })
    };
    assert_eq!(
        app.exchange(&slug, &up.a1(), Some(&b_for(USER_ID, &["access_as_user"]))).await.status(),
        StatusCode::OK
    );
    let other = b_for("99999999-0000-4000-8000-000000000001", &["access_as_user"]);
    assert_problem(app.exchange(&slug, &up.a1(), Some(&other)).await, StatusCode::FORBIDDEN, "user_mismatch")
        .await;
    let no_scope = b_for(USER_ID, &["something_else"]);
    assert_problem(
        app.exchange(&slug, &up.a1(), Some(&no_scope)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_authorization",
    )
    .await;
    // A1 itself is not a token for the vendor's API.
    assert_problem(
        app.exchange(&slug, &up.a1(), Some(&up.a1())).await,
        StatusCode::UNAUTHORIZED,
        "invalid_authorization",
    )
    .await;
}

#[tokio::test]
async fn a_webhook_policy_asks_the_vendor_and_caches_its_answer() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let vendor = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"allow": true})))
        .expect(1)
        .mount(&vendor)
        .await;
    let policy = json!({"type": "webhook", "url": format!("{}/decide", vendor.uri()),
        "secret": "webhook-secret-that-is-long-enough-0123456789", "cacheSeconds": 60});
    let slug = app.create_exchange_tenant(&up, &json!({"authorization": policy})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), Some("vendor-session-1")).await.status(), StatusCode::OK);
    let again = up.a1_with(json!({"uti": "second"}));
    assert_eq!(app.exchange(&slug, &again, Some("vendor-session-1")).await.status(), StatusCode::OK);
    let requests = vendor.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body, json!({"tenant": slug, "tid": ENTRA_TENANT, "oid": USER_ID, "appId": APP_ID}));
    assert!(requests[0].headers.contains_key("x-acsgw-signature"));
}

#[tokio::test]
async fn a_webhook_that_denies_or_fails_refuses_the_exchange() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let vendor = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"allow": false})))
        .mount(&vendor)
        .await;
    let policy = |url: String| json!({"type": "webhook", "url": url, "secret": "webhook-secret-that-is-long-enough-0123456789", "cacheSeconds": 0});
    let denied = app.create_exchange_tenant(&up, &json!({"authorization": policy(vendor.uri())})).await;
    assert_problem(
        app.exchange(&denied, &up.a1(), Some("b")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_authorization",
    )
    .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = app
        .create_exchange_tenant(
            &up,
            &json!({"authorization": policy(format!("http://127.0.0.1:{closed}/decide"))}),
        )
        .await;
    let response = app.exchange(&down, &up.a1(), Some("b")).await;
    assert_eq!(response.headers()["retry-after"], "5");
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    assert_eq!(up.acs_exchanges(), 0, "fail closed");
}

#[tokio::test]
async fn a_jwt_policy_whose_key_set_is_unreachable_is_a_503_with_retry_after() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let policy = json!({"type": "jwt", "issuer": "https://auth.contoso.example", "audience": "contoso-calling",
        "jwksUri": format!("http://127.0.0.1:{closed}/keys")});
    let slug = app.create_exchange_tenant(&up, &json!({"authorization": policy})).await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": "https://auth.contoso.example", "aud": "contoso-calling", "oid": USER_ID,
        "iat": now, "nbf": now, "exp": now + 600});
    let b = [json!({"alg": "RS256", "typ": "JWT", "kid": "vendor-key-1"}), claims]
        .map(|part| URL_SAFE_NO_PAD.encode(part.to_string()))
        .join(".")
        + ".c2lnbmF0dXJl";
    let response = app.exchange(&slug, &up.a1(), Some(&b)).await;
    assert_eq!(response.headers()["retry-after"], "30");
    let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    assert_eq!(body["detail"], "authorization signing keys unavailable");
    assert_eq!(up.acs_exchanges(), 0, "fail closed");
}
