//! `pending` tenants: created before their customer's Entra tenant is known, they exchange nothing
//! (403 `tenant_not_connected`) until connected.

use std::time::Duration;

use registry::domain::TenantSlug;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{ENTRA_TENANT, TestApp, assert_problem, spawn_app, tenant_body, unique_slug},
    onboarding_helpers::create_pending_tenant,
    upstreams::spawn_exchange_app,
};

#[tokio::test]
async fn a_pending_tenant_is_created_without_an_entra_tenant_and_shown_so() {
    let app = spawn_app().await;

    let (_, single) = create_pending_tenant(&app, "tenant").await;
    let (_, multi) = create_pending_tenant(&app, "organizations").await;

    assert_eq!(single["status"], "pending");
    assert_eq!(single["entra"].get("tenantId"), None, "{single}");
    assert_eq!(multi["entra"]["allowedTenantIds"], json!([]), "{multi}");
    let created = app.audit_events(single["slug"].as_str().unwrap()).await;
    assert_eq!(created[0]["action"], "tenant.created");
}

#[tokio::test]
async fn only_a_pending_tenant_may_lack_its_entra_tenant() {
    let app = spawn_app().await;
    let mut active = tenant_body(&unique_slug());
    active["entra"] = json!({"authority": "tenant", "allowedAppIds": [crate::helpers::APP_ID]});

    let refused = app.create_tenant_with(&active).await;

    let body = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        body["errors"],
        json!([{"field": "/entra/tenantId", "message": "is required for authority 'tenant' (unless status is 'pending')"}])
    );
    let (slug, _) = create_pending_tenant(&app, "organizations").await;
    let activated = app.patch_tenant(&slug, Some("*"), &json!({"status": "active"})).await;
    let body = assert_problem(activated, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "/entra/allowedTenantIds");
    let connected = json!({"status": "active", "entra": {"allowedTenantIds": [ENTRA_TENANT]}});
    let response = app.patch_tenant(&slug, Some("*"), &connected).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tenant: Value = response.json().await.unwrap();
    assert_eq!(
        (&tenant["status"], &tenant["entra"]["allowedTenantIds"]),
        (&json!("active"), &json!([ENTRA_TENANT]))
    );
}

#[tokio::test]
async fn a_pending_tenant_exchanges_nothing_until_it_is_connected() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let pending = json!({"status": "pending", "entra": {"tenantId": null}});
    let slug = app.create_exchange_tenant(&up, &pending).await;

    let refused = app.exchange(&slug, &up.a1(), None).await;

    let body = assert_problem(refused, StatusCode::FORBIDDEN, "tenant_not_connected").await;
    assert_eq!(
        body["detail"],
        "tenant is not connected yet: its Microsoft 365 admin has not accepted the invitation"
    );
    let hero = app
        .client
        .get(app.url("/api/token/teams"))
        .header("X-Tenant", &slug)
        .header("teams-user-aad-token", up.a1())
        .send()
        .await
        .unwrap();
    assert_problem(hero, StatusCode::FORBIDDEN, "tenant_not_connected").await;
    assert_eq!(up.acs_exchanges(), 0);

    // Connected by hand, as the consent flow will: the tenant id, then `active`.
    let connect = json!({"status": "active", "entra": {"tenantId": ENTRA_TENANT}});
    let mut changes = app.tenant_cache.subscribe();
    assert_eq!(app.patch_tenant(&slug, Some("*"), &connect).await.status(), StatusCode::OK);
    until_cache_serves_active(&app, &mut changes, &slug).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
}

/// Waits, against a deadline, until this replica's tenant cache serves `slug` as `active`: checked
/// again at each announced change.
async fn until_cache_serves_active(
    app: &TestApp,
    changes: &mut tokio::sync::broadcast::Receiver<registry::cache::TenantChange>,
    slug: &str,
) {
    let slug = TenantSlug::parse(slug).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let cached = app.tenant_cache.get(&slug).await.unwrap();
        if cached.is_some_and(|tenant| tenant.status.as_str() == "active") {
            return;
        }
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(closed)) => panic!("the tenant cache stopped announcing: {closed}"),
            Err(_) => panic!("the connection of {slug} never reached the tenant cache"),
        }
    }
}

#[tokio::test]
async fn the_schema_lets_only_a_pending_tenant_lack_its_entra_tenant() {
    let app = spawn_app().await;
    let (active, _) = app.create_tenant().await;
    let (pending, _) = create_pending_tenant(&app, "tenant").await;
    let unset = "UPDATE tenants SET entra_tenant_id = NULL WHERE slug = $1";

    let error = sqlx::query(unset).bind(&active).execute(&app.pool).await.unwrap_err();

    let violated = error.as_database_error().and_then(|db| db.constraint()).map(str::to_owned);
    assert_eq!(violated.as_deref(), Some("tenants_authority_complete"));
    let activate = "UPDATE tenants SET status = 'active' WHERE slug = $1";
    let error = sqlx::query(activate).bind(&pending).execute(&app.pool).await.unwrap_err();
    let violated = error.as_database_error().and_then(|db| db.constraint()).map(str::to_owned);
    assert_eq!(violated.as_deref(), Some("tenants_authority_complete"));
}
