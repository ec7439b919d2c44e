//! The exchange endpoints against the devstack's issuer and emulator: happy paths, the cache, and
//! the refusals the gateway owns.

use std::time::Duration;

use devstack::issuer::MintRequest;
use registry::{cache::TenantChange, domain::TenantSlug};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{
    helpers::{APP_ID, ENTRA_TENANT, TestApp, assert_problem},
    upstreams::{USER_ID, spawn_exchange_app},
};

#[tokio::test]
async fn a_v1_token_is_exchanged_for_an_acs_token_expiring_with_it() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let a1 = up.a1();
    let response = app.exchange(&slug, &a1, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].as_str().unwrap().starts_with("ey"));
    assert_eq!(body["user"], json!({"microsoftTeamsUserId": USER_ID, "rawId": format!("8:orgid:{USER_ID}")}));
    assert_eq!(body["tenantId"], ENTRA_TENANT);
    let a1_exp = claims(&a1)["exp"].as_i64().unwrap();
    let expires_on = chrono::DateTime::parse_from_rfc3339(body["expiresOn"].as_str().unwrap()).unwrap();
    assert_eq!(expires_on.timestamp(), a1_exp);
    assert_eq!(claims(body["token"].as_str().unwrap())["skypeid"], format!("orgid:{USER_ID}"));
    assert_eq!(up.acs_exchanges(), 1);
}

#[tokio::test]
async fn a_v2_token_is_exchanged_too() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let response = app.exchange(&slug, &up.a1_v2(), None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_organizations_tenant_accepts_allow_listed_entra_tenants_only() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let other = "aaaaaaaa-0000-4000-8000-000000000002";
    let slug = app
        .create_exchange_tenant(&up, &json!({"entra": {"authority": "organizations", "tenantId": null, "allowedTenantIds": [other, ENTRA_TENANT]}}))
        .await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    let stranger = up.mint(&MintRequest::new("bbbbbbbb-0000-4000-8000-000000000003", USER_ID, APP_ID));
    assert_problem(app.exchange(&slug, &stranger, None).await, StatusCode::FORBIDDEN, "tenant_not_allowed")
        .await;
    let stranger_v2 = up.mint(&MintRequest {
        version: devstack::issuer::TokenVersion::V2,
        ..MintRequest::new(other, USER_ID, APP_ID)
    });
    assert_eq!(app.exchange(&slug, &stranger_v2, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_tenant_authority_refuses_users_of_another_entra_tenant() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let stranger = up.mint(&MintRequest::new("bbbbbbbb-0000-4000-8000-000000000003", USER_ID, APP_ID));
    assert_problem(app.exchange(&slug, &stranger, None).await, StatusCode::FORBIDDEN, "tenant_not_allowed")
        .await;
    assert_eq!(up.acs_exchanges(), 0);
}

#[tokio::test]
async fn the_hero_route_takes_user_and_app_from_the_token() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let response = app
        .client
        .get(app.url("/api/token/teams"))
        .header("teams-user-aad-token", up.a1())
        .header("x-tenant", &slug)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(body["token"].as_str().is_some() && body["expiresOn"].as_str().is_some());
    let missing = app
        .client
        .get(app.url("/api/token/teams"))
        .header("teams-user-aad-token", up.a1())
        .send()
        .await
        .unwrap();
    assert_problem(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
    let not_allowed =
        up.mint(&MintRequest::new(ENTRA_TENANT, USER_ID, "99999999-0000-4000-8000-000000000009"));
    let refused = app
        .client
        .get(app.url("/api/token/teams"))
        .header("teams-user-aad-token", not_allowed)
        .header("x-tenant", &slug)
        .send()
        .await
        .unwrap();
    assert_problem(refused, StatusCode::FORBIDDEN, "app_not_allowed").await;
}

#[tokio::test]
async fn the_same_exchange_twice_calls_acs_once() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let a1 = up.a1();
    let first: Value = app.exchange(&slug, &a1, None).await.json().await.unwrap();
    let second: Value = app.exchange(&slug, &a1, None).await.json().await.unwrap();
    assert_eq!(first["token"], second["token"]);
    assert_eq!(up.acs_exchanges(), 1);
    app.exchange(&slug, &up.a1_with(json!({"uti": "another"})), None).await;
    assert_eq!(up.acs_exchanges(), 2, "another A1 is another exchange");
}

#[tokio::test]
async fn an_a1_expiring_within_the_cache_margin_is_exchanged_each_time_while_a_long_lived_one_is_cached() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    // D expires with A1: two minutes is inside the five-minute margin, so D is never handed out again.
    let short = up.mint(&MintRequest {
        lifetime_seconds: Some(120),
        ..MintRequest::new(ENTRA_TENANT, USER_ID, APP_ID)
    });
    for _ in 0..2 {
        assert_eq!(app.exchange(&slug, &short, None).await.status(), StatusCode::OK);
    }
    assert_eq!(up.acs_exchanges(), 2, "a D about to expire is not served from the cache");
    let long = up.a1_with(json!({"uti": "long-lived"}));
    for _ in 0..2 {
        assert_eq!(app.exchange(&slug, &long, None).await.status(), StatusCode::OK);
    }
    assert_eq!(up.acs_exchanges(), 3, "an hour-long A1 is exchanged once");
}

#[tokio::test]
async fn concurrent_identical_exchanges_share_one_acs_call() {
    let (app, up) = spawn_exchange_app(&[]).await;
    up.set_faults(devstack::emulator::Faults { latency_ms: 200, ..Default::default() });
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let a1 = up.a1();
    let responses = futures_util::future::join_all((0..10).map(|_| app.exchange(&slug, &a1, None))).await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(up.acs_exchanges(), 1);
}

#[tokio::test]
async fn each_refusal_has_its_code_and_never_reaches_acs() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let other_user = "99999999-0000-4000-8000-000000000001";
    let cases: Vec<(String, &str, &str, StatusCode, &str, &str)> = vec![
        (
            up.a1_with(json!({"exp": chrono::Utc::now().timestamp() - 600})),
            APP_ID,
            USER_ID,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "token expired",
        ),
        (
            up.a1_with(json!({"aud": "https://graph.microsoft.com"})),
            APP_ID,
            USER_ID,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "audience not accepted",
        ),
        (
            up.a1_with(json!({"scp": "Teams.ManageCalls"})),
            APP_ID,
            USER_ID,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "token lacks a required scope",
        ),
        (
            up.a1_with(json!({"idtyp": "app"})),
            APP_ID,
            USER_ID,
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "app-only tokens are not accepted",
        ),
        (
            up.a1(),
            APP_ID,
            other_user,
            StatusCode::FORBIDDEN,
            "user_mismatch",
            "token belongs to another user",
        ),
        (
            up.a1(),
            "99999999-0000-4000-8000-000000000009",
            USER_ID,
            StatusCode::FORBIDDEN,
            "app_not_allowed",
            "token was issued to another app",
        ),
        (
            "not.a.token".to_owned(),
            APP_ID,
            USER_ID,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "token is malformed: not canonical base64url",
        ),
    ];
    for (a1, app_id, user, status, code, detail) in cases {
        let response = app.exchange_as(&slug, &a1, app_id, user, None).await;
        let body = assert_problem(response, status, code).await;
        assert_eq!(body["detail"], detail);
        assert!(!body.to_string().contains(&a1), "the token is never echoed");
    }
    assert_eq!(up.acs_exchanges(), 0);
}

#[tokio::test]
async fn bad_requests_are_400_and_unknown_or_suspended_tenants_say_so() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let post = |body: String| {
        app.client
            .post(app.url(&format!("/v1/tenants/{slug}/token/teams")))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(post("{not json".into()).await.unwrap(), StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_problem(
        post(json!({"token": "x", "appId": APP_ID}).to_string()).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let body = assert_problem(
        app.exchange_as(&slug, &up.a1(), "not-a-guid", USER_ID, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert_eq!(body["detail"], "appId is not a GUID");
    let body = assert_problem(
        app.exchange_as(&slug, &up.a1(), APP_ID, "nope", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert_eq!(body["detail"], "userId is not a GUID");
    let huge = post(json!({"token": "x".repeat(70 * 1024), "appId": APP_ID, "userId": USER_ID}).to_string())
        .await
        .unwrap();
    assert_problem(huge, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
    assert_problem(
        app.exchange("no-such-tenant", &up.a1(), None).await,
        StatusCode::NOT_FOUND,
        "tenant_not_found",
    )
    .await;

    let mut changes = app.tenant_cache.subscribe();
    let patched = app.patch_tenant(&slug, Some("*"), &json!({"status": "suspended"})).await;
    assert_eq!(patched.status(), StatusCode::OK);
    until_cache_serves(&app, &mut changes, &slug, Some("suspended")).await;
    assert_problem(app.exchange(&slug, &up.a1(), None).await, StatusCode::FORBIDDEN, "tenant_suspended")
        .await;
    let deleted =
        app.admin(reqwest::Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    until_cache_serves(&app, &mut changes, &slug, None).await;
    assert_problem(app.exchange(&slug, &up.a1(), None).await, StatusCode::NOT_FOUND, "tenant_not_found")
        .await;
    assert_eq!(up.acs_exchanges(), 0);
}

/// Waits until this replica's tenant cache serves `slug` with `status` (`None`: deleted), that is
/// until the change's NOTIFY has reached it: checked again at each announced change, against a
/// deadline.
async fn until_cache_serves(
    app: &TestApp,
    changes: &mut broadcast::Receiver<TenantChange>,
    slug: &str,
    status: Option<&str>,
) {
    let slug = TenantSlug::parse(slug).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let cached = app.tenant_cache.get(&slug).await.unwrap();
        if cached.as_ref().map(|tenant| tenant.status.as_str()) == status {
            return;
        }
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Ok(_) | Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => panic!("the tenant cache stopped announcing"),
            Err(_) => panic!("the change to {slug} never reached the tenant cache"),
        }
    }
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_secret_sealed_under_a_missing_key_is_a_500_that_reveals_nothing() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let other_keyring = [
        ("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url()),
        ("ACSGW_SECRET_KEYS", "k9:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="),
    ];
    let misconfigured = crate::helpers::spawn_app_on(&app.database_url, &other_keyring).await;
    let body = assert_problem(
        misconfigured.exchange(&slug, &up.a1(), None).await,
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
    )
    .await;
    assert_eq!(body["detail"], "internal error");
    assert!(!body.to_string().contains("k1") && !body.to_string().contains("k9"));
    assert_eq!(up.acs_exchanges(), 0);
}
