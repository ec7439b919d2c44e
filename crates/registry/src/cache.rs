//! A moka cache of tenants in front of Postgres, so that Postgres is not on the exchange's path for
//! tenants a replica knows.
//!
//! - Every replica listens on [`CHANGES_CHANNEL`]; a change anywhere drops the entry everywhere,
//!   except where a replica already holds the version the [`Notice`] names.
//! - A record is *fresh* while it is younger than the TTL and confirmed by the live listener session.
//!   A record that is not fresh is loaded again; if Postgres cannot be reached, the last record is
//!   served while it is younger than `stale_if_error` (no admin write can land while Postgres is
//!   down, so the last record is the freshest one there is).
//! - When the listener's connection drops, records become unconfirmed (notifications may be missed)
//!   but stay; when it is back, they are checked against Postgres in one query (slug and version)
//!   and only those changed or deleted meanwhile are dropped.
//! - The records are bounded by the memory they take ([`weight::tenant`]), not by their number, so
//!   the cache is sized for the registry. Slugs that name no tenant are remembered too, but only so
//!   many of them: requests for invented slugs must not fill the memory meant for tenants.

use std::{
    collections::HashMap,
    mem::size_of,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use moka::{
    future::Cache,
    ops::compute::{CompResult, Op},
};
use sqlx::{PgPool, postgres::PgListener};
use tokio::task::JoinHandle;

use crate::{
    RegistryError,
    domain::{Tenant, TenantSlug},
    notice::{CHANGES_CHANNEL, Notice},
    tenants::TenantStore,
    weight,
};

/// The longest wait between two attempts to listen again: the listener is also what notices that
/// Postgres is back after an outage.
const MAX_LISTEN_BACKOFF: Duration = Duration::from_secs(1);
/// How long establishing a listener session may take before it counts as a failure.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(2);
/// How many slugs that name no tenant are remembered by default (about 450 bytes each).
pub const MAX_ABSENT: usize = 10_000;

/// What happened in the cache, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    Hit,
    Miss,
    /// Postgres could not be reached and the last record, within its staleness bound, was served.
    Stale,
    Invalidated,
    Cleared,
    ListenerLost,
}

pub type CacheObserver = Arc<dyn Fn(CacheEvent) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// How long a record is used without asking Postgres (with the listener confirming it).
    pub ttl: Duration,
    /// How old a record may be and still be served while Postgres cannot be reached.
    pub stale_if_error: Duration,
    /// The memory the records may take, in bytes as [`weight`] estimates them; the least used go
    /// first when it is full.
    pub max_bytes: u64,
    /// Slugs that name no tenant remembered at most (e.g. [`MAX_ABSENT`]); beyond, an unknown slug
    /// is looked up each time it is asked for.
    pub max_absent: usize,
}

/// What one entry costs: moka's bookkeeping, the slug, the entry and the record it holds.
fn weigh(slug: &TenantSlug, entry: &Entry) -> usize {
    let record = entry.tenant.as_deref().map_or(0, weight::tenant);
    weight::ENTRY_OVERHEAD
        + size_of::<TenantSlug>()
        + weight::text(slug.as_str())
        + size_of::<Entry>()
        + record
}

/// A tenant record (or its absence) as Postgres last confirmed it.
#[derive(Clone)]
struct Entry {
    tenant: Option<Arc<Tenant>>,
    /// When Postgres last confirmed this record (taken before asking, so never later than the truth).
    confirmed_at: Instant,
    /// The listener session that was live when it was confirmed; 0: none was.
    session: u64,
}

/// A tenant changed somewhere in the cluster, as those keeping per-tenant state hear of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantChange {
    pub slug: TenantSlug,
    /// The version it changed to; `None` when it was deleted, or the notice did not say.
    pub version: Option<i64>,
}

#[derive(Clone)]
pub struct TenantCache {
    store: TenantStore,
    config: CacheConfig,
    entries: Cache<TenantSlug, Entry>,
    /// How many entries say "no such tenant" (see [`CacheConfig::max_absent`]).
    absent: Arc<AtomicUsize>,
    /// Bumped by every invalidation, so a load that raced one is not kept.
    generation: Arc<AtomicU64>,
    /// The live listener session's id, or 0 while there is none.
    live_session: Arc<AtomicU64>,
    /// Where listener session ids come from (never reused, so a record of a failed session is never
    /// taken for confirmed by a later one).
    session_ids: Arc<AtomicU64>,
    observer: CacheObserver,
    /// Every slug some replica changed, for per-tenant state kept elsewhere (breakers, decisions).
    changes: tokio::sync::broadcast::Sender<TenantChange>,
    /// How many times the change listener has been (re)established and its records confirmed.
    sessions: Arc<tokio::sync::watch::Sender<u64>>,
}

impl TenantCache {
    pub fn new(store: TenantStore, config: CacheConfig, observer: CacheObserver) -> Self {
        // Kept while they may still be served, stale; refreshed ones are inserted again.
        let keep = config.ttl.max(config.stale_if_error);
        let absent = Arc::new(AtomicUsize::new(0));
        let gone = absent.clone();
        let entries = Cache::builder()
            .max_capacity(config.max_bytes)
            .weigher(|slug, entry| weight::to_weight(weigh(slug, entry)))
            .time_to_live(keep)
            // Every entry that leaves, replaced or not, was counted when it was put.
            .eviction_listener(move |_, entry: Entry, _| {
                if entry.tenant.is_none() {
                    gone.fetch_sub(1, Ordering::AcqRel);
                }
            })
            .build();
        Self {
            store,
            config,
            entries,
            absent,
            generation: Arc::new(AtomicU64::new(0)),
            live_session: Arc::new(AtomicU64::new(0)),
            session_ids: Arc::new(AtomicU64::new(0)),
            observer,
            changes: tokio::sync::broadcast::channel(1024).0,
            sessions: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    /// The tenant (or its absence): from the cache while fresh, else from Postgres, else, while
    /// Postgres cannot be reached, the last record within the staleness bound.
    pub async fn get(&self, slug: &TenantSlug) -> Result<Option<Arc<Tenant>>, RegistryError> {
        if let Some(entry) = self.entries.get(slug).await
            && self.is_fresh(&entry)
        {
            (self.observer)(CacheEvent::Hit);
            return Ok(entry.tenant);
        }
        (self.observer)(CacheEvent::Miss);
        let generation = self.generation.load(Ordering::Acquire);
        let session = self.live_session.load(Ordering::Acquire);
        // One load per slug at a time: the others wait and find it fresh.
        let computed = self
            .entries
            .entry_by_ref(slug)
            .and_try_compute_with(|current| async move {
                let current = current.map(moka::Entry::into_value);
                if current.as_ref().is_some_and(|entry| self.is_fresh(entry)) {
                    return Ok(Op::Nop);
                }
                let asked_at = Instant::now();
                match self.store.lookup(slug).await {
                    Ok(Some(tenant)) => {
                        let tenant = Some(Arc::new(tenant));
                        Ok(Op::Put(Entry { tenant, confirmed_at: asked_at, session }))
                    }
                    Ok(None) if !self.may_remember_absent() => Ok(Op::Remove),
                    Ok(None) => Ok(Op::Put(Entry { tenant: None, confirmed_at: asked_at, session })),
                    Err(RegistryError::Unavailable)
                        if current.as_ref().is_some_and(|entry| self.is_servable_stale(entry)) =>
                    {
                        Ok(Op::Nop)
                    }
                    Err(error) => Err(error),
                }
            })
            .await?;
        let entry = match computed {
            // Not kept: no such tenant, and too many such slugs are remembered already.
            CompResult::StillNone(_) | CompResult::Removed(_) => return Ok(None),
            CompResult::Unchanged(entry) | CompResult::Inserted(entry) | CompResult::ReplacedWith(entry) => {
                entry.into_value()
            }
        };
        if !self.is_fresh(&entry) {
            (self.observer)(CacheEvent::Stale);
        } else if self.generation.load(Ordering::Acquire) != generation {
            // A change arrived while we loaded: what we read may predate it.
            self.entries.invalidate(slug).await;
        }
        Ok(entry.tenant)
    }

    /// Whether one more "no such tenant" may be kept, counting it if so.
    fn may_remember_absent(&self) -> bool {
        let most = self.config.max_absent;
        let counted =
            self.absent.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < most).then_some(n + 1));
        counted.is_ok()
    }

    /// The tenant if this replica has it cached; never asks Postgres and records no hit or miss.
    pub async fn peek(&self, slug: &TenantSlug) -> Option<Arc<Tenant>> {
        self.entries.get(slug).await.and_then(|entry| entry.tenant)
    }

    pub async fn invalidate(&self, slug: &TenantSlug) {
        self.drop_record(slug, None).await;
    }

    async fn drop_record(&self, slug: &TenantSlug, version: Option<i64>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(slug).await;
        (self.observer)(CacheEvent::Invalidated);
        let _ = self.changes.send(TenantChange { slug: slug.clone(), version });
    }

    /// A tenant changed to `version` (`None`: deleted): its record is dropped, unless this replica
    /// already holds that version (an exchange loaded it between the commit and the notice). Those
    /// keeping other per-tenant state hear of the change either way.
    async fn changed(&self, slug: &TenantSlug, version: Option<i64>) {
        let cached = self.entries.get(slug).await.and_then(|entry| entry.tenant).map(|tenant| tenant.version);
        match (cached, version) {
            (Some(cached), Some(version)) if cached >= version => {
                let _ = self.changes.send(TenantChange { slug: slug.clone(), version: Some(version) });
            }
            _ => self.drop_record(slug, version).await,
        }
    }

    /// The tenants changed anywhere in the cluster from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<TenantChange> {
        self.changes.subscribe()
    }

    /// Counts listener sessions established (and their records confirmed) so far; the value changes
    /// each time the listener (re)connects, so a caller can wait for the first session or a reconnect.
    pub fn listener_sessions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.sessions.subscribe()
    }

    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
        (self.observer)(CacheEvent::Cleared);
    }

    fn is_fresh(&self, entry: &Entry) -> bool {
        let live = self.live_session.load(Ordering::Acquire);
        live != 0 && entry.session == live && entry.confirmed_at.elapsed() < self.config.ttl
    }

    fn is_servable_stale(&self, entry: &Entry) -> bool {
        entry.confirmed_at.elapsed() < self.config.stale_if_error
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
                if cache.live_session.swap(0, Ordering::AcqRel) != 0 {
                    // Records stay, unconfirmed, until the next session checks them.
                    (cache.observer)(CacheEvent::ListenerLost);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_LISTEN_BACKOFF);
            }
        })
    }

    /// One listener session: returns when its connection is lost.
    async fn listen(&self, pool: &PgPool) -> Result<(), RegistryError> {
        let health = self.store.health();
        let connect = async {
            let mut listener = PgListener::connect_with(pool).await?;
            // Reconnect ourselves, so that every lost connection is noticed here.
            listener.eager_reconnect(false);
            listener.listen(CHANGES_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match tokio::time::timeout(LISTEN_TIMEOUT, connect).await {
            Ok(Ok(listener)) => listener,
            Ok(Err(error)) => {
                let error = RegistryError::from(error);
                health.record_failure(&error.to_string());
                return Err(error);
            }
            Err(_) => {
                health.record_failure("the change listener could not connect in time");
                return Err(RegistryError::Unavailable);
            }
        };
        health.record_success();
        let mut recoveries = health.recoveries();
        recoveries.borrow_and_update();
        let session = self.session_ids.fetch_add(1, Ordering::AcqRel) + 1;
        self.live_session.store(session, Ordering::Release);
        // Notifications from now on are queued on the listener; what came before may have been missed.
        self.confirm(session).await?;
        tracing::info!(channel = CHANGES_CHANNEL, "listening for tenant changes");
        self.sessions.send_modify(|sessions| *sessions += 1);
        loop {
            let notification = tokio::select! {
                notification = listener.try_recv() => notification?,
                // Postgres was unreachable meanwhile: this connection may be dead without knowing it
                // (a partition sends no reset), so listen again and confirm the records. Cancelling
                // the receive is safe: the connection is dropped with it.
                _ = recoveries.changed() => {
                    tracing::info!("postgres is back; listening again to confirm cached tenants");
                    return Ok(());
                }
            };
            let Some(notification) = notification else { return Ok(()) };
            match Notice::parse(notification.payload()) {
                Notice::Everything => self.clear(),
                Notice::Tenant { slug, version } => self.changed(&slug, version).await,
            }
        }
    }

    /// Checks every record not confirmed by `session` against Postgres in one query: those whose
    /// version is unchanged are confirmed, the others (changed, deleted, or created since) dropped.
    async fn confirm(&self, session: u64) -> Result<(), RegistryError> {
        let unconfirmed: Vec<(TenantSlug, Entry)> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.session != session)
            .map(|(slug, entry)| (TenantSlug::clone(&slug), entry))
            .collect();
        if unconfirmed.is_empty() {
            return Ok(());
        }
        let asked_at = Instant::now();
        let slugs: Vec<String> = unconfirmed.iter().map(|(slug, _)| slug.as_str().to_owned()).collect();
        let versions: HashMap<String, i64> = self.store.versions(&slugs).await?.into_iter().collect();
        let mut dropped = 0;
        for (slug, checked) in unconfirmed {
            let now = versions.get(slug.as_str()).copied();
            if checked.tenant.as_ref().map(|tenant| tenant.version) != now {
                dropped += 1;
                self.invalidate(&slug).await;
                continue;
            }
            // Confirmed, unless the record was replaced meanwhile.
            self.entries
                .entry_by_ref(&slug)
                .and_compute_with(|current| async move {
                    match current {
                        Some(current) if current.value().confirmed_at == checked.confirmed_at => {
                            if checked.tenant.is_none() {
                                // It replaces itself: counted again as the one replaced is uncounted.
                                self.absent.fetch_add(1, Ordering::AcqRel);
                            }
                            Op::Put(Entry { confirmed_at: asked_at, session, ..checked })
                        }
                        _ => Op::Nop,
                    }
                })
                .await;
        }
        tracing::info!(checked = slugs.len(), dropped, "cached tenants checked after listening again");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weight::tests::typical_tenant;

    fn entry(tenant: Option<Tenant>) -> Entry {
        Entry { tenant: tenant.map(Arc::new), confirmed_at: Instant::now(), session: 1 }
    }

    #[test]
    fn an_entry_weighs_moka_s_share_its_slug_and_its_record() {
        let slug = TenantSlug::parse("fabrikam-0042").unwrap();
        let tenant = typical_tenant(1);
        let record = weight::tenant(&tenant);
        let absent = weigh(&slug, &entry(None));
        assert_eq!(absent, weight::ENTRY_OVERHEAD + 24 + 32 + size_of::<Entry>());
        assert_eq!(weigh(&slug, &entry(Some(tenant))), absent + record);
        assert!((1_100..1_400).contains(&(absent + record)), "about 1.3 KiB a tenant: {}", absent + record);
    }
}
