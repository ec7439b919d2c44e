//! ACS's own refusals: a mock ACS answers as the real service does (reference/acs-identity-api.md,
//! README "How ACS refusals are answered"), and the gateway passes the refusal on in its own words,
//! counting and logging it as the fault of whoever it belongs to. The emulator's per-user refusal
//! switch drives the same path end to end.

use devstack::{emulator::Refusal, issuer::MintRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{ACCESS_KEY, APP_ID, ENTRA_TENANT, TestApp, assert_problem, spawn_app},
    operations::{sample, scrape},
    upstreams::{USER_ID, Upstreams, spawn_exchange_app},
};

const UNLICENSED: &str = "User Login. Teams is disabled in user licenses";

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

#[tokio::test]
async fn acs_refusing_an_unlicensed_user_is_a_403_teams_license_missing_after_one_call() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs =
        acs_answering(403, json!({"code": "UserLicenseNotPresentForbidden", "message": UNLICENSED})).await;
    let slug = tenant_on(&app, &up, &acs).await;
    let a1 = up.a1();

    let response = app.exchange(&slug, &a1, None).await;

    assert!(!response.headers().contains_key("retry-after"), "retrying will not help");
    let body = assert_problem(response, StatusCode::FORBIDDEN, "teams_license_missing").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("no Microsoft Teams licence"), "{detail}");
    assert!(!body.to_string().contains(&a1), "the token is never echoed");
    acs.verify().await;
}

#[tokio::test]
async fn teams_turned_off_by_the_users_organisation_is_also_teams_license_missing() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs = acs_answering(
        403,
        json!({"code": "TeamsDisabledForTenantForbidden", "message": "Teams is disabled for the tenant."}),
    )
    .await;
    let slug = tenant_on(&app, &up, &acs).await;

    let response = app.exchange(&slug, &up.a1(), None).await;

    let body = assert_problem(response, StatusCode::FORBIDDEN, "teams_license_missing").await;
    assert!(body["detail"].as_str().unwrap().contains("turned Teams off"), "{body}");
    acs.verify().await;
}

#[tokio::test]
async fn a_users_refusal_counts_under_its_own_outcome_and_never_as_a_credential_rejection() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs =
        acs_answering(403, json!({"code": "UserLicenseNotPresentForbidden", "message": UNLICENSED})).await;
    let slug = tenant_on(&app, &up, &acs).await;

    app.exchange(&slug, &up.a1(), None).await;

    let text = scrape(&app.url("/metrics")).await;
    let outcome =
        |outcome| sample(&text, "acsgw_exchange_requests_total", &[("outcome", outcome), ("tenant", &slug)]);
    assert_eq!(outcome("teams_license_missing"), Some(1.0));
    assert_eq!(outcome("upstream_error"), None);
    assert_eq!(sample(&text, "acsgw_acs_credential_rejected_total", &[("tenant", &slug)]), None);
    assert_eq!(
        sample(&text, "acsgw_upstream_requests_total", &[("status", "403"), ("tenant", &slug)]),
        Some(1.0)
    );
    assert!(!text.contains("acsgw_token_rejections_total{"), "A1 itself was fine:\n{text}");
    acs.verify().await;
}

#[tokio::test]
async fn a_403_with_an_unknown_code_is_still_a_502_counted_as_a_credential_rejection() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let acs = acs_answering(403, json!({"code": "Forbidden", "message": "No role assignment."})).await;
    let slug = tenant_on(&app, &up, &acs).await;

    let response = app.exchange(&slug, &up.a1(), None).await;

    assert_problem(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    let text = scrape(&app.url("/metrics")).await;
    assert_eq!(sample(&text, "acsgw_acs_credential_rejected_total", &[("tenant", &slug)]), Some(1.0));
    assert_eq!(
        sample(&text, "acsgw_exchange_requests_total", &[("outcome", "upstream_error"), ("tenant", &slug)]),
        Some(1.0)
    );
    acs.verify().await;
}

#[tokio::test]
async fn a_user_refused_at_the_emulator_gets_teams_license_missing_while_other_users_get_tokens() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let other = "d3e0d3e0-0000-4000-8000-00000000ace2";
    up.acs.set_refusal(USER_ID.parse().unwrap(), Some(Refusal::UserLicenseNotPresentForbidden));

    let refused = app.exchange(&slug, &up.a1(), None).await;
    let hero = app
        .client
        .get(app.url("/api/token/teams"))
        .header("X-Tenant", &slug)
        .header("teams-user-aad-token", up.a1_with(json!({"uti": "hero"})))
        .send()
        .await
        .unwrap();
    let other_a1 = up.mint(&MintRequest::new(ENTRA_TENANT, other, APP_ID));
    let served = app.exchange_as(&slug, &other_a1, APP_ID, other, None).await;

    assert_problem(refused, StatusCode::FORBIDDEN, "teams_license_missing").await;
    assert_problem(hero, StatusCode::FORBIDDEN, "teams_license_missing").await;
    assert_eq!(served.status(), StatusCode::OK);
    let stats = up.acs.stats();
    assert_eq!((stats.user_refusals, stats.exchanges, stats.exchange_attempts), (2, 1, 3), "no retries");
    let text = scrape(&app.url("/metrics")).await;
    let outcome =
        |outcome| sample(&text, "acsgw_exchange_requests_total", &[("outcome", outcome), ("tenant", &slug)]);
    assert_eq!((outcome("teams_license_missing"), outcome("ok")), (Some(2.0), Some(1.0)));
    assert_eq!(sample(&text, "acsgw_acs_credential_rejected_total", &[("tenant", &slug)]), None);

    up.acs.set_refusal(USER_ID.parse().unwrap(), None);
    assert_eq!(
        app.exchange(&slug, &up.a1(), None).await.status(),
        StatusCode::OK,
        "the user is served again"
    );
}

#[tokio::test]
async fn the_openapi_description_lists_teams_license_missing_among_the_exchanges_403s() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (path, method) in [("/v1/tenants/{tenant}/token/teams", "post"), ("/api/token/teams", "get")] {
        let forbidden = &doc["paths"][path][method]["responses"]["403"];
        assert!(forbidden["description"].as_str().unwrap().contains("teams_license_missing"), "{path}");
        assert!(forbidden["content"]["application/problem+json"].is_object(), "{path}");
    }
}
