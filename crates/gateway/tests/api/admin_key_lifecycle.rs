//! An admin key's life beyond its routes: expiry against Postgres' clock, revocation on every
//! replica, its last use written in batches (and at shutdown), its tenant's deletion, and the
//! migration that made the keys of before roles existed `owner` keys.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    admin_roles::{Role, key_for},
    helpers::{TestApp, assert_problem, spawn_app, spawn_app_on},
};

async fn get_with(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap()
}

async fn id_of(app: &TestApp, key: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM admin_keys WHERE key_hash = $1")
        .bind(registry::admin_keys::key_hash(key).as_slice())
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_key_past_its_expiry_is_refused_with_401() {
    let app = spawn_app().await;
    let created = app
        .admin(Method::POST, "/admin/v1/admin-keys")
        .json(&json!({"name": "contractor", "role": "reader", "expiresAt": "2999-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    let key = created.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_owned();
    assert_eq!(get_with(&app, &key, "/admin/v1/tenants").await.status(), StatusCode::OK);

    // The clock that counts is Postgres': move the expiry behind it rather than wait.
    sqlx::query("UPDATE admin_keys SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id_of(&app, &key).await)
        .execute(&app.pool)
        .await
        .unwrap();
    let refused = get_with(&app, &key, "/admin/v1/tenants").await;
    let body = assert_problem(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["detail"], "admin key expired");
}

#[tokio::test]
async fn a_key_revoked_through_one_replica_is_refused_by_the_other_within_two_seconds() {
    let a = spawn_app().await;
    let b = spawn_app_on(&a.database_url, &[]).await;
    let (slug, _) = a.create_tenant().await;
    let key = key_for(&a, Role::Operator, &slug).await;
    assert_eq!(get_with(&b, &key, "/admin/v1/tenants").await.status(), StatusCode::OK);

    let id = id_of(&a, &key).await;
    let revoked = a.admin(Method::DELETE, &format!("/admin/v1/admin-keys/{id}")).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let response = get_with(&b, &key, "/admin/v1/tenants").await;
        if response.status() == StatusCode::UNAUTHORIZED {
            let body = assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
            assert_eq!(body["detail"], "admin key revoked");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "replica b still accepts the revoked key");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And every route, not only the one tried.
    let write =
        b.client.delete(b.url(&format!("/admin/v1/tenants/{slug}"))).bearer_auth(&key).send().await.unwrap();
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);
}

async fn last_used(app: &TestApp, id: uuid::Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT last_used_at FROM admin_keys WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_keys_last_use_is_written_by_the_next_flush_and_listed() {
    let database = crate::helpers::fresh_database().await;
    let app =
        spawn_app_on(&database, &[("ACSGW_STATS_FLUSH_SECONDS", "1")]).await.with_admin_key("owner").await;
    let (slug, _) = app.create_tenant().await;
    let key = key_for(&app, Role::Reader, &slug).await;
    let id = id_of(&app, &key).await;
    assert_eq!(last_used(&app, id).await, None, "a key never used has no last use");

    let before = chrono::Utc::now() - chrono::TimeDelta::seconds(5);
    assert_eq!(get_with(&app, &key, "/admin/v1/tenants").await.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let used = loop {
        if let Some(at) = last_used(&app, id).await {
            break at;
        }
        assert!(tokio::time::Instant::now() < deadline, "last use not written within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(used > before, "{used} is not the use just made");
    let response = app.admin(Method::GET, "/admin/v1/admin-keys").send().await.unwrap();
    let items: Value = response.json().await.unwrap();
    let listed =
        items["items"].as_array().unwrap().iter().find(|k| k["id"] == id.to_string()).unwrap().clone();
    assert!(listed["lastUsedAt"].is_string(), "{listed}");
}

#[tokio::test]
async fn a_keys_last_use_is_written_when_the_replica_stops() {
    let database = crate::helpers::fresh_database().await;
    // No periodic flush during the test: only the one at shutdown can write the use.
    let app =
        spawn_app_on(&database, &[("ACSGW_STATS_FLUSH_SECONDS", "3600")]).await.with_admin_key("owner").await;
    let id = id_of(&app, &app.admin_key).await;
    assert_eq!(app.admin(Method::GET, "/admin/v1/tenants").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(last_used(&app, id).await, None, "written before the flush");
    app.stop().await;
    assert!(last_used(&app, id).await.is_some(), "the last use was lost at shutdown");
}

#[tokio::test]
async fn a_tenant_key_stops_working_when_its_tenant_is_deleted_even_if_the_slug_comes_back() {
    let app = spawn_app().await;
    let (slug, body) = app.create_tenant().await;
    let key = key_for(&app, Role::Tenant, &slug).await;
    let tenant_path = format!("/admin/v1/tenants/{slug}");
    assert_eq!(get_with(&app, &key, &tenant_path).await.status(), StatusCode::OK);

    let deleted = app.admin(Method::DELETE, &tenant_path).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let refused =
        assert_problem(get_with(&app, &key, &tenant_path).await, StatusCode::UNAUTHORIZED, "unauthorized")
            .await;
    assert_eq!(refused["detail"], "the admin key's tenant no longer exists");

    let mut again = crate::helpers::tenant_body(&slug);
    again["displayName"] = body["displayName"].clone();
    assert_eq!(app.create_tenant_with(&again).await.status(), StatusCode::CREATED);
    let still = get_with(&app, &key, &tenant_path).await;
    assert_eq!(still.status(), StatusCode::UNAUTHORIZED, "a new tenant under the old slug is another tenant");
}

#[tokio::test]
async fn the_migration_makes_the_keys_of_before_roles_existed_owner_keys() {
    let url = local_pg::PostgresServer::for_tests().await.unwrap().create_database().await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for before_roles in [
        include_str!("../../../../migrations/V1__tenant_registry.sql"),
        include_str!("../../../../migrations/V2__replica_heartbeats.sql"),
        include_str!("../../../../migrations/V3__exchange_stats.sql"),
    ] {
        sqlx::raw_sql(before_roles).execute(&pool).await.unwrap();
    }
    sqlx::query("INSERT INTO admin_keys (id, name, key_hash) VALUES (gen_random_uuid(), 'old', sha256('k'))")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(include_str!("../../../../migrations/V4__admin_key_roles.sql"))
        .execute(&pool)
        .await
        .unwrap();
    let row: (String, Option<String>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT role, tenant_slug, expires_at FROM admin_keys WHERE name = 'old'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(row, ("owner".to_owned(), None, None));
    let unbound_tenant_key =
        sqlx::query("INSERT INTO admin_keys (id, name, key_hash, role) VALUES (gen_random_uuid(), 'x', sha256('y'), 'tenant')")
            .execute(&pool)
            .await;
    assert!(unbound_tenant_key.is_err(), "a tenant key without a tenant is refused by the schema");
}
