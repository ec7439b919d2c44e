use registry::RegistryError;

use crate::helpers::{actor, changes, new_tenant, slug, store};

#[tokio::test]
async fn creating_a_tenant_with_a_slug_in_use_is_slug_taken_and_writes_nothing() {
    let (store, pool) = store().await;
    store.create(new_tenant("fabrikam"), &actor()).await.unwrap();

    let second = store.create(new_tenant("fabrikam"), &actor()).await;

    assert!(matches!(second, Err(RegistryError::SlugTaken)), "{second:?}");
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants").fetch_one(&pool).await.unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'tenant.created'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((tenants, events), (1, 1));
}

#[tokio::test]
async fn a_deleted_tenants_slug_can_be_taken_again_by_a_new_tenant() {
    let (store, _pool) = store().await;
    let first = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    store.delete(&slug("fabrikam"), None, &actor()).await.unwrap();

    let second = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();

    assert_ne!(second.id, first.id);
    assert_eq!(second.version, 1);
}

#[tokio::test]
async fn every_change_to_a_tenant_that_does_not_exist_is_not_found() {
    let (store, _pool) = store().await;
    let missing = slug("nobody-here");

    let update = store.update(&missing, None, changes("Nobody"), &actor()).await;
    let delete = store.delete(&missing, None, &actor()).await;

    assert!(matches!(update, Err(RegistryError::NotFound)), "{update:?}");
    assert!(matches!(delete, Err(RegistryError::NotFound)), "{delete:?}");
    assert!(store.get(&missing).await.unwrap().is_none());
}

#[tokio::test]
async fn the_schema_refuses_rows_the_domain_types_would_never_build() {
    let (store, pool) = store().await;
    let tenant = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    let id = tenant.id.as_uuid();

    for (constraint, sql) in [
        ("tenants_slug_format", "UPDATE tenants SET slug = 'Not A Slug' WHERE id = $1"),
        ("tenants_status_known", "UPDATE tenants SET status = 'deleted' WHERE id = $1"),
        ("tenants_app_ids_present", "UPDATE tenants SET entra_allowed_app_ids = '{}' WHERE id = $1"),
        ("tenants_burst_positive", "UPDATE tenants SET burst = 0 WHERE id = $1"),
        ("tenants_version_positive", "UPDATE tenants SET version = 0 WHERE id = $1"),
        ("tenants_fingerprint_format", "UPDATE tenants SET acs_key_fingerprint = 'md5:00' WHERE id = $1"),
    ] {
        let error = sqlx::query(sql).bind(id).execute(&pool).await.unwrap_err();

        let violated = error.as_database_error().and_then(|db| db.constraint()).map(str::to_owned);
        assert_eq!(violated.as_deref(), Some(constraint), "{sql}: {error}");
    }
    assert_eq!(store.get(&slug("fabrikam")).await.unwrap(), Some(tenant));
}
