use registry::RegistryError;

use crate::helpers::{actor, changes, new_tenant, slug, store};

#[tokio::test]
async fn an_update_at_the_expected_version_applies_and_moves_the_version_on() {
    let (store, _pool) = store().await;
    let created = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();

    let updated = store.update(&created.slug, Some(created.version), changes("Fabrikam Ltd"), &actor()).await;

    let updated = updated.unwrap();
    assert_eq!(updated.version, created.version + 1);
    assert_eq!(updated.display_name.as_str(), "Fabrikam Ltd");
    assert!(updated.updated_at >= created.updated_at);
}

#[tokio::test]
async fn an_update_with_a_stale_version_is_a_version_mismatch_and_changes_nothing() {
    let (store, _pool) = store().await;
    let created = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    store.update(&created.slug, Some(1), changes("Fabrikam Ltd"), &actor()).await.unwrap();

    let stale = store.update(&created.slug, Some(1), changes("Fabrikam GmbH"), &actor()).await;

    assert!(matches!(stale, Err(RegistryError::VersionMismatch { expected: 1, current: 2 })), "{stale:?}");
    let now = store.get(&created.slug).await.unwrap().unwrap();
    assert_eq!((now.version, now.display_name.as_str()), (2, "Fabrikam Ltd"));
}

#[tokio::test]
async fn a_delete_with_a_stale_version_is_a_version_mismatch_and_keeps_the_tenant() {
    let (store, _pool) = store().await;
    let created = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    store.update(&created.slug, None, changes("Fabrikam Ltd"), &actor()).await.unwrap();

    let stale = store.delete(&created.slug, Some(1), &actor()).await;

    assert!(matches!(stale, Err(RegistryError::VersionMismatch { expected: 1, current: 2 })), "{stale:?}");
    assert!(store.get(&created.slug).await.unwrap().is_some());
}

#[tokio::test]
async fn an_update_that_changes_nothing_keeps_the_version_and_records_no_event() {
    let (store, pool) = store().await;
    let created = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();

    let same = store.update(&created.slug, Some(1), changes("Fabrikam Inc."), &actor()).await.unwrap();

    assert_eq!(same, created);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&pool).await.unwrap();
    assert_eq!(events, 1, "only the creation");
}

#[tokio::test]
async fn of_two_concurrent_updates_from_the_same_version_exactly_one_wins() {
    let (store, _pool) = store().await;
    let created = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    let (tenant, actor) = (slug("fabrikam"), actor());

    let (a, b) = tokio::join!(
        store.update(&tenant, Some(created.version), changes("Written by A"), &actor),
        store.update(&tenant, Some(created.version), changes("Written by B"), &actor),
    );

    let (winner, loser) = match (a, b) {
        (Ok(winner), Err(loser)) | (Err(loser), Ok(winner)) => (winner, loser),
        other => panic!("expected one success and one failure, got {other:?}"),
    };
    assert!(matches!(loser, RegistryError::VersionMismatch { expected: 1, current: 2 }), "{loser:?}");
    let now = store.get(&tenant).await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.display_name, winner.display_name);
}
