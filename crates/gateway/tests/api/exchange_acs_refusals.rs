//! ACS's own refusals, which the emulator never produces for a token the gateway accepted: a mock ACS
//! answers as the real service does (reference/acs-identity-api.md), and the gateway passes the
//! refusal on in its own words.

use reqwest::StatusCode;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{ACCESS_KEY, TestApp, assert_problem},
    upstreams::{Upstreams, spawn_exchange_app},
};

/// A mock ACS that answers every exchange with `status` and ACS's error body.
async fn acs_answering(status: u16, error: serde_json::Value) -> MockServer {
    let acs = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/teamsUser/:exchangeAccessToken"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("MS-CV", "bW9jay1hY3MtY3Y.0")
                .set_body_json(json!({ "error": error })),
        )
        .expect(1)
        .mount(&acs)
        .await;
    acs
}

async fn tenant_on(app: &TestApp, up: &Upstreams, acs: &MockServer) -> String {
    let cs = format!("endpoint={}/;accesskey={ACCESS_KEY}", acs.uri());
    app.create_exchange_tenant(up, &json!({"acs": {"connectionString": cs}})).await
}

#[tokio::test]
async fn acs_refusing_the_entra_token_is_a_401_invalid_token() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs = acs_answering(
        401,
        json!({"code": "InvalidAccessToken", "message": "Provided access token is not valid."}),
    )
    .await;
    let slug = tenant_on(&app, &up, &acs).await;
    let a1 = up.a1();
    let response = app.exchange(&slug, &a1, None).await;
    assert!(!response.headers().contains_key("retry-after"), "retrying will not help");
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(body["detail"], "ACS did not accept the token");
    assert!(!body.to_string().contains(&a1), "the token is never echoed");
    acs.verify().await;
}

#[tokio::test]
async fn acs_refusing_the_request_is_a_400_invalid_request_naming_the_target() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs = acs_answering(
        400,
        json!({"code": "ValidationError", "message": "Provided UserId is not valid.", "target": "userId"}),
    )
    .await;
    let slug = tenant_on(&app, &up, &acs).await;
    let body =
        assert_problem(app.exchange(&slug, &up.a1(), None).await, StatusCode::BAD_REQUEST, "invalid_request")
            .await;
    assert_eq!(body["detail"], "ACS refused userId: Provided UserId is not valid.");
    acs.verify().await;
}

#[tokio::test]
async fn acs_refusals_are_not_cached_and_each_one_reaches_acs() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"code": "InvalidAccessToken", "message": "Provided access token is not valid."}}),
        ))
        .expect(2)
        .mount(&acs)
        .await;
    let slug = tenant_on(&app, &up, &acs).await;
    let a1 = up.a1();
    for _ in 0..2 {
        assert_problem(app.exchange(&slug, &a1, None).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
    acs.verify().await;
}
