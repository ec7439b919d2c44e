//! Exchange results, keyed by a hash of A1, the tenant, the app and the user, kept until D's expiry
//! minus a margin (never past A1's own expiry). Concurrent identical requests share one ACS call.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use moka::{Expiry, future::Cache};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// D minus this is when a cached D stops being handed out: clients need time to use it.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Clone)]
pub struct CachedToken {
    pub token: SecretString,
    pub expires_on: DateTime<Utc>,
    /// How long this entry may be served from the cache.
    keep_for: Duration,
}

impl CachedToken {
    pub fn new(token: SecretString, expires_on: DateTime<Utc>, a1_expires_at: i64) -> Self {
        let now = Utc::now();
        let until_d = (expires_on - now).to_std().unwrap_or_default().saturating_sub(EXPIRY_MARGIN);
        let until_a1 = Duration::from_secs(u64::try_from(a1_expires_at - now.timestamp()).unwrap_or(0));
        Self { token, expires_on, keep_for: until_d.min(until_a1) }
    }
}

struct KeepFor;

impl Expiry<[u8; 32], CachedToken> for KeepFor {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &CachedToken,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.keep_for)
    }
}

#[derive(Clone)]
pub struct ExchangeCache {
    entries: Cache<[u8; 32], CachedToken>,
}

/// What identifies one exchange: the same A1 for the same tenant, app and user.
pub fn key(a1: &str, tenant: Uuid, app_id: Uuid, user_id: Uuid) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(tenant.as_bytes());
    hasher.update(app_id.as_bytes());
    hasher.update(user_id.as_bytes());
    hasher.update(a1.as_bytes());
    hasher.finalize().into()
}

impl ExchangeCache {
    pub fn new(capacity: u64) -> Self {
        Self { entries: Cache::builder().max_capacity(capacity).expire_after(KeepFor).build() }
    }

    /// The cached result, or `fetch`'s; the flag says whether it came from the cache. Concurrent
    /// callers with one key wait for one `fetch`; errors are shared with them and not cached.
    pub async fn get_or_fetch<E, F>(&self, key: [u8; 32], fetch: F) -> (Result<CachedToken, Arc<E>>, bool)
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<CachedToken, E>>,
    {
        let fetched = AtomicBool::new(false);
        let result = self
            .entries
            .try_get_with(key, async {
                fetched.store(true, Ordering::Relaxed);
                fetch.await
            })
            .await;
        (result, !fetched.load(Ordering::Relaxed))
    }
}
