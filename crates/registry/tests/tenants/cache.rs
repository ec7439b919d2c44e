//! The tenant cache in front of Postgres: with a long TTL, a record stays served from memory until a
//! change notice names its own tenant.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use registry::{
    cache::{CacheConfig, CacheEvent, TenantCache, TenantChange},
    domain::TenantSlug,
    tenants::TenantStore,
};

use crate::helpers::{actor, changes, new_tenant, store};

type Events = Arc<Mutex<Vec<CacheEvent>>>;

/// A cache with an hour-long TTL whose events are recorded, listening for changes.
async fn listening_cache() -> (TenantCache, Events, TenantStore) {
    listening_cache_remembering(100).await
}

/// The same, remembering at most `max_absent` slugs that name no tenant.
async fn listening_cache_remembering(max_absent: usize) -> (TenantCache, Events, TenantStore) {
    let (store, pool) = store().await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let recorded = events.clone();
    let config = CacheConfig {
        ttl: Duration::from_secs(3600),
        stale_if_error: Duration::from_secs(300),
        max_bytes: 64 * 1024 * 1024,
        max_absent,
    };
    let cache =
        TenantCache::new(store.clone(), config, Arc::new(move |event| recorded.lock().unwrap().push(event)));
    cache.spawn_listener(pool);
    let mut sessions = cache.listener_sessions();
    tokio::time::timeout(Duration::from_secs(10), sessions.wait_for(|n| *n > 0)).await.unwrap().unwrap();
    (cache, events, store)
}

fn taken(events: &Mutex<Vec<CacheEvent>>) -> Vec<CacheEvent> {
    std::mem::take(&mut *events.lock().unwrap())
}

/// Waits until the cache has heard that `slug` changed to `version`.
async fn hear(changes: &mut tokio::sync::broadcast::Receiver<TenantChange>, slug: &TenantSlug, version: i64) {
    let wanted = TenantChange { slug: slug.clone(), version: Some(version) };
    tokio::time::timeout(Duration::from_secs(10), async { while changes.recv().await.unwrap() != wanted {} })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_record_is_served_without_postgres_after_a_change_notice_for_another_tenant() {
    let (cache, events, store) = listening_cache().await;
    let mut changes_heard = cache.subscribe();
    let fabrikam = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    let contoso = store.create(new_tenant("contoso"), &actor()).await.unwrap();
    hear(&mut changes_heard, &contoso.slug, 1).await;
    for slug in [&fabrikam.slug, &contoso.slug] {
        cache.get(slug).await.unwrap().unwrap();
    }
    taken(&events);

    store.update(&contoso.slug, None, changes("Contoso Ltd"), &actor()).await.unwrap();
    hear(&mut changes_heard, &contoso.slug, 2).await;

    let served = cache.get(&fabrikam.slug).await.unwrap().unwrap();
    assert_eq!(served.version, fabrikam.version);
    let reloaded = cache.get(&contoso.slug).await.unwrap().unwrap();
    assert_eq!(reloaded.display_name.as_str(), "Contoso Ltd");
    assert_eq!(
        taken(&events),
        vec![CacheEvent::Invalidated, CacheEvent::Hit, CacheEvent::Miss],
        "the other tenant's notice dropped only its own record; this one came from memory"
    );
}

#[tokio::test]
async fn a_slug_that_names_no_tenant_is_remembered_until_a_tenant_takes_it() {
    let (cache, events, store) = listening_cache().await;
    let slug = TenantSlug::parse("fabrikam").unwrap();
    assert!(cache.get(&slug).await.unwrap().is_none());
    assert!(cache.get(&slug).await.unwrap().is_none());
    assert_eq!(taken(&events), vec![CacheEvent::Miss, CacheEvent::Hit]);

    let mut changes_heard = cache.subscribe();
    store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    hear(&mut changes_heard, &slug, 1).await;

    assert!(cache.get(&slug).await.unwrap().is_some(), "the creation notice dropped the absence");
}

#[tokio::test]
async fn only_so_many_slugs_that_name_no_tenant_are_remembered() {
    let (cache, events, store) = listening_cache_remembering(2).await;
    let [a, b, c, d] =
        ["absent-a", "absent-b", "absent-c", "absent-d"].map(|s| TenantSlug::parse(s).unwrap());
    for slug in [&a, &b, &c, &c, &a] {
        assert!(cache.get(slug).await.unwrap().is_none());
    }
    use CacheEvent::{Hit, Invalidated, Miss};
    assert_eq!(taken(&events), vec![Miss, Miss, Miss, Miss, Hit], "the third is asked for each time");

    let mut changes_heard = cache.subscribe();
    let created = store.create(new_tenant("absent-a"), &actor()).await.unwrap();
    hear(&mut changes_heard, &created.slug, 1).await;
    for slug in [&d, &d] {
        assert!(cache.get(slug).await.unwrap().is_none());
    }
    assert_eq!(taken(&events), vec![Invalidated, Miss, Hit], "a tenant took one: room for another");
}
