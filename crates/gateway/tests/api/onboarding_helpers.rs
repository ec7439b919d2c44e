//! A gateway with onboarding configured, and what the invitation and onboarding tests share.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{APP_ID, TestApp, fresh_database, spawn_app_on, tenant_body, unique_slug};

pub const PUBLIC_BASE_URL: &str = "https://gateway.contoso.example";
pub const VENDOR_NAME: &str = "Contoso Calling";
/// The test tenants' display name (from `tenant_body`).
pub const TENANT_NAME: &str = "Fabrikam Inc.";

/// Every onboarding setting; the onboarding app is the test tenants' allowed app.
pub const ONBOARDING: &[(&str, &str)] = &[
    ("ACSGW_PUBLIC_BASE_URL", PUBLIC_BASE_URL),
    ("ACSGW_ONBOARDING_CLIENT_ID", APP_ID),
    ("ACSGW_ONBOARDING_CLIENT_SECRET", "onboarding-app-secret"),
    ("ACSGW_VENDOR_NAME", VENDOR_NAME),
];

/// A gateway on a fresh database with onboarding configured, and an owner key.
pub async fn spawn_onboarding_app() -> TestApp {
    let database_url = fresh_database().await;
    spawn_app_on(&database_url, ONBOARDING).await.with_admin_key("test-operator").await
}

fn invitations_path(slug: &str) -> String {
    format!("/admin/v1/tenants/{slug}/invitations")
}

/// `POST .../invitations` with the app's key and `body` (none: no body at all).
pub async fn create_invitation(app: &TestApp, slug: &str, body: Option<Value>) -> Response {
    let request = app.admin(Method::POST, &invitations_path(slug));
    match body {
        Some(body) => request.json(&body),
        None => request,
    }
    .send()
    .await
    .unwrap()
}

/// A new invitation for `slug`: the 201's body.
pub async fn invite(app: &TestApp, slug: &str) -> Value {
    let response = create_invitation(app, slug, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The token in an invitation's link.
pub fn token_of(created: &Value) -> String {
    let url = created["url"].as_str().unwrap();
    url.strip_prefix(&format!("{PUBLIC_BASE_URL}/onboarding/")).unwrap().to_owned()
}

/// The tenant's invitations, as listed.
pub async fn list_invitations(app: &TestApp, slug: &str) -> Vec<Value> {
    let response = app.admin(Method::GET, &invitations_path(slug)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

pub async fn revoke_invitation(app: &TestApp, slug: &str, id: &str) -> Response {
    app.admin(Method::DELETE, &format!("{}/{id}", invitations_path(slug))).send().await.unwrap()
}

/// `GET /onboarding/{token}`, as a browser would.
pub async fn open_page(app: &TestApp, token: &str) -> Response {
    app.client.get(app.url(&format!("/onboarding/{token}"))).send().await.unwrap()
}

/// `POST /onboarding/{token}/start`: the page's button.
pub async fn press_connect(app: &TestApp, token: &str) -> Response {
    app.client.post(app.url(&format!("/onboarding/{token}/start"))).send().await.unwrap()
}

/// Moves an invitation's expiry into the past, as time would: it was created 8 days ago and
/// expired yesterday.
pub async fn expire(app: &TestApp, id: &str) {
    let sql = "UPDATE invitations SET created_at = now() - interval '8 days',
               expires_at = now() - interval '1 day' WHERE id = $1";
    updated_one(app, sqlx::query(sql).bind(uuid::Uuid::parse_str(id).unwrap())).await;
}

/// Records a failed attempt, as the consent flow will: `state` `consent_denied` or
/// `service_principal_missing`.
pub async fn fail_attempt(app: &TestApp, id: &str, state: &str, error: &str) {
    let sql = "UPDATE invitations SET state = $2, last_error = $3 WHERE id = $1";
    updated_one(app, sqlx::query(sql).bind(uuid::Uuid::parse_str(id).unwrap()).bind(state).bind(error)).await;
}

/// Records a connection, as the consent flow will.
pub async fn mark_connected(app: &TestApp, id: &str, tid: &str, admin_oid: &str, admin_name: &str) {
    let sql = "UPDATE invitations SET state = 'connected', consumed_at = now(), connected_tid = $2,
               connected_by_oid = $3, connected_by_name = $4 WHERE id = $1";
    let query = sqlx::query(sql)
        .bind(uuid::Uuid::parse_str(id).unwrap())
        .bind(uuid::Uuid::parse_str(tid).unwrap())
        .bind(uuid::Uuid::parse_str(admin_oid).unwrap())
        .bind(admin_name);
    updated_one(app, query).await;
}

async fn updated_one(
    app: &TestApp,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) {
    assert_eq!(query.execute(&app.pool).await.unwrap().rows_affected(), 1);
}

/// Creates a `pending` tenant (no Entra tenant yet) with `authority`, and returns its slug and body.
pub async fn create_pending_tenant(app: &TestApp, authority: &str) -> (String, Value) {
    let slug = unique_slug();
    let mut body = tenant_body(&slug);
    body["status"] = json!("pending");
    body["entra"] = json!({"authority": authority, "allowedAppIds": [APP_ID]});
    let response = app.create_tenant_with(&body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    (slug, response.json().await.unwrap())
}
