//! A short-lived moka cache of tenants in front of Postgres. Every replica listens on
//! [`CHANGES_CHANNEL`]; a change anywhere drops the entry everywhere. A replica whose listener
//! connection drops clears its whole cache (it may have missed notifications) and reconnects.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use moka::future::Cache;
use sqlx::{PgPool, postgres::PgListener};
use tokio::task::JoinHandle;

use crate::{
    RegistryError,
    domain::{Tenant, TenantSlug},
    tenants::{CHANGES_CHANNEL, TenantStore},
};

/// What happened in the cache, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    Hit,
    Miss,
    Invalidated,
    Cleared,
    ListenerLost,
}

pub type CacheObserver = Arc<dyn Fn(CacheEvent) + Send + Sync>;

#[derive(Clone)]
pub struct TenantCache {
    store: TenantStore,
    entries: Cache<TenantSlug, Option<Arc<Tenant>>>,
    /// Bumped by every invalidation, so a load that raced one is not kept.
    generation: Arc<AtomicU64>,
    observer: CacheObserver,
    /// Every slug some replica changed, for per-tenant state kept elsewhere (breakers, decisions).
    changes: tokio::sync::broadcast::Sender<TenantSlug>,
    /// How many times the change listener has been (re)established.
    sessions: Arc<tokio::sync::watch::Sender<u64>>,
}

impl TenantCache {
    pub fn new(store: TenantStore, ttl: Duration, observer: CacheObserver) -> Self {
        Self {
            store,
            entries: Cache::builder().max_capacity(100_000).time_to_live(ttl).build(),
            generation: Arc::new(AtomicU64::new(0)),
            observer,
            changes: tokio::sync::broadcast::channel(1024).0,
            sessions: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// The tenant (or its absence), from the cache or Postgres.
    pub async fn get(&self, slug: &TenantSlug) -> Result<Option<Arc<Tenant>>, Arc<RegistryError>> {
        if let Some(found) = self.entries.get(slug).await {
            (self.observer)(CacheEvent::Hit);
            return Ok(found);
        }
        (self.observer)(CacheEvent::Miss);
        let generation = self.generation.load(Ordering::Acquire);
        let store = self.store.clone();
        let loaded = self
            .entries
            .try_get_with(slug.clone(), async move { store.get(slug).await.map(|t| t.map(Arc::new)) })
            .await?;
        if self.generation.load(Ordering::Acquire) != generation {
            // A change arrived while we loaded: what we read may predate it.
            self.entries.invalidate(slug).await;
        }
        Ok(loaded)
    }

    /// The tenant if this replica has it cached; never asks Postgres and records no hit or miss.
    pub async fn peek(&self, slug: &TenantSlug) -> Option<Arc<Tenant>> {
        self.entries.get(slug).await.flatten()
    }

    pub async fn invalidate(&self, slug: &TenantSlug) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(slug).await;
        (self.observer)(CacheEvent::Invalidated);
        let _ = self.changes.send(slug.clone());
    }

    /// The slugs of tenants changed anywhere in the cluster from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<TenantSlug> {
        self.changes.subscribe()
    }

    /// Counts listener sessions established so far; the value changes each time the listener
    /// (re)connects, so a caller can wait for the first session or for a reconnect.
    pub fn listener_sessions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sessions.subscribe()
    }

    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
        (self.observer)(CacheEvent::Cleared);
    }

    /// Listens for changes until the task is aborted, reconnecting with backoff when the connection
    /// drops. [`Self::listener_sessions`] counts each (re)established session.
    pub fn spawn_listener(&self, pool: PgPool) -> JoinHandle<()> {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match cache.listen(&pool).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(error) => {
                        tracing::warn!(error = %error, "tenant change listener failed; reconnecting");
                        if pool.is_closed() {
                            return;
                        }
                    }
                }
                (cache.observer)(CacheEvent::ListenerLost);
                cache.clear();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        })
    }

    /// One listener session: returns when its connection is lost.
    async fn listen(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        // Reconnect ourselves, so that every lost connection also clears the cache.
        listener.eager_reconnect(false);
        listener.listen(CHANGES_CHANNEL).await?;
        // Anything cached before now may have missed a notification.
        self.clear();
        tracing::info!(channel = CHANGES_CHANNEL, "listening for tenant changes");
        self.sessions.send_modify(|sessions| *sessions += 1);
        while let Some(notification) = listener.try_recv().await? {
            match notification.payload() {
                "*" => self.clear(),
                slug => match TenantSlug::parse(slug) {
                    Ok(slug) => self.invalidate(&slug).await,
                    Err(_) => self.clear(),
                },
            }
        }
        Ok(())
    }
}
