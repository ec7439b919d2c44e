//! Two gateways on one database: a change through one is seen by the other's tenant cache at once.

use std::time::Duration;

use registry::{cache::TenantChange, domain::TenantSlug};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app, spawn_app_on},
    operations::{sample, scrape},
};

/// A TTL far longer than the test, so only a notification can explain a fresh value.
const LONG_TTL: &[(&str, &str)] = &[("ACSGW_TENANT_CACHE_TTL_SECONDS", "3600")];

async fn cached_version(app: &TestApp, slug: &TenantSlug) -> Option<i64> {
    app.tenant_cache.get(slug).await.unwrap().map(|t| t.version)
}

async fn eventually(app: &TestApp, slug: &TenantSlug, expected: Option<i64>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let seen = cached_version(app, slug).await;
        if seen == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "replica still sees {seen:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_change_through_one_replica_reaches_the_other_within_two_seconds() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a.database_url, LONG_TTL).await;
    let (slug, _) = a.create_tenant().await;
    let slug = TenantSlug::parse(&slug).unwrap();
    assert_eq!(cached_version(&b, &slug).await, Some(1));

    let response = a.patch_tenant(slug.as_str(), Some("\"1\""), &json!({"status": "suspended"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    eventually(&b, &slug, Some(2)).await;
    assert_eq!(b.tenant_cache.get(&slug).await.unwrap().unwrap().status.as_str(), "suspended");

    let rotated = a
        .admin(Method::PUT, &format!("/admin/v1/tenants/{slug}/acs"))
        .json(&json!({"connectionString": "endpoint=https://y.communication.azure.com/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    eventually(&b, &slug, Some(3)).await;

    let deleted = a.admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    eventually(&b, &slug, None).await;
}

#[tokio::test]
async fn a_tenant_created_after_a_miss_was_cached_is_seen_at_once() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a.database_url, LONG_TTL).await;
    let slug = TenantSlug::parse(&crate::helpers::unique_slug()).unwrap();
    assert_eq!(cached_version(&b, &slug).await, None);
    let response = a.create_tenant_with(&crate::helpers::tenant_body(slug.as_str())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    eventually(&b, &slug, Some(1)).await;
}

#[tokio::test]
async fn a_replica_that_loses_its_listener_keeps_unchanged_tenants_and_drops_those_changed_meanwhile() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a.database_url, LONG_TTL).await;
    let mut changes = b.tenant_cache.subscribe();
    let (kept, _) = a.create_tenant().await;
    let (changed, _) = a.create_tenant().await;
    let (deleted, _) = a.create_tenant().await;
    let [kept, changed, deleted] = [kept, changed, deleted].map(|slug| TenantSlug::parse(&slug).unwrap());
    // Let b hear of the creations first, so that no late notification empties its cache below.
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(2), changes.recv()).await.expect("b hears").unwrap();
    }
    for slug in [&kept, &changed, &deleted] {
        assert_eq!(cached_version(&b, slug).await, Some(1));
    }

    // Changes the listener cannot hear: written behind the gateway's back, without NOTIFY.
    for (sql, slug) in [
        ("UPDATE tenants SET version = 5 WHERE slug = $1", &changed),
        ("DELETE FROM tenants WHERE slug = $1", &deleted),
    ] {
        sqlx::query(sql).bind(slug.as_str()).execute(&a.pool).await.unwrap();
    }
    assert_eq!(cached_version(&b, &changed).await, Some(1), "still cached");

    let mut dropped = b.tenant_cache.subscribe();
    assert_eq!(b.cut_listeners().await, 2, "both replicas' listeners");
    // Checked against Postgres when the listener came back (before it counts as back): only what
    // changed was dropped, and announced as changed to the rest of the replica.
    let mut announced = std::collections::BTreeSet::new();
    while let Ok(change) = dropped.try_recv() {
        announced.insert(change.slug);
    }
    assert_eq!(announced, [changed.clone(), deleted.clone()].into(), "only the changed and the deleted");
    assert_eq!(b.tenant_cache.peek(&kept).await.map(|t| t.version), Some(1), "unchanged: kept");
    assert_eq!(cached_version(&b, &changed).await, Some(5));
    assert_eq!(cached_version(&b, &deleted).await, None);

    let response =
        a.patch_tenant(changed.as_str(), Some("\"5\""), &json!({"displayName": "After reconnect"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    eventually(&b, &changed, Some(6)).await;
}

#[tokio::test]
async fn a_notice_naming_the_version_a_replica_holds_keeps_its_record_and_any_other_drops_it() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a.database_url, LONG_TTL).await;
    let mut changes = b.tenant_cache.subscribe();
    let (slug, _) = a.create_tenant().await;
    let slug = TenantSlug::parse(&slug).unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(2), changes.recv()).await.expect("b hears").unwrap();
    assert_eq!(heard, TenantChange { slug: slug.clone(), version: Some(1) }, "the creation");
    assert_eq!(cached_version(&b, &slug).await, Some(1));

    let dropped = || async {
        sample(
            &scrape(&b.url("/metrics")).await,
            "acsgw_tenant_cache_events_total",
            &[("event", "invalidated")],
        )
    };
    for (payload, version, kept) in [
        (format!("{slug}@1"), Some(1), true),
        (format!("{slug}@2"), Some(2), false),
        (slug.to_string(), None, false),
    ] {
        assert_eq!(cached_version(&b, &slug).await, Some(1), "reloaded before {payload}");
        let before = dropped().await.unwrap_or(0.0);
        sqlx::query("SELECT pg_notify('acsgw_tenant_changes', $1)")
            .bind(&payload)
            .execute(&a.pool)
            .await
            .unwrap();
        let heard =
            tokio::time::timeout(Duration::from_secs(2), changes.recv()).await.expect("b hears").unwrap();
        assert_eq!(heard, TenantChange { slug: slug.clone(), version }, "{payload}");
        let after = dropped().await.unwrap_or(0.0);
        assert_eq!(after - before, if kept { 0.0 } else { 1.0 }, "{payload}");
    }
}
