//! Exchange results, keyed by a hash of A1, the tenant, the app and the user, kept until D's expiry
//! minus a margin (never past A1's own expiry). Concurrent identical requests share one ACS call.
//! The results are bounded by the memory they take (about 1.4 KiB for a D of 1 KiB), not by their
//! number.

use std::{
    mem::size_of,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use moka::{Expiry, future::Cache};
use registry::weight;
use secrecy::{ExposeSecret, SecretString};
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
        Self { token, expires_on, keep_for: keep_for(Utc::now(), expires_on, a1_expires_at) }
    }
}

/// How long a D may be served from the cache at `now`: until `EXPIRY_MARGIN` before its expiry, and
/// never past A1's (`a1_expires_at`, seconds since the epoch). Zero means "do not keep".
fn keep_for(now: DateTime<Utc>, expires_on: DateTime<Utc>, a1_expires_at: i64) -> Duration {
    let until_d = (expires_on - now).to_std().unwrap_or_default().saturating_sub(EXPIRY_MARGIN);
    let until_a1 = Duration::from_secs(u64::try_from(a1_expires_at - now.timestamp()).unwrap_or(0));
    until_d.min(until_a1)
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

/// What one result costs: moka's bookkeeping, the key, the entry and D's text.
fn weigh(_key: &[u8; 32], value: &CachedToken) -> u32 {
    let d = weight::text(value.token.expose_secret());
    weight::to_weight(weight::ENTRY_OVERHEAD + size_of::<[u8; 32]>() + size_of::<CachedToken>() + d)
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
    /// Results taking at most `max_bytes`; the least used go first.
    pub fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder().max_capacity(max_bytes).weigher(weigh).expire_after(KeepFor).build();
        Self { entries }
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

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    const MINUTE: i64 = 60;

    fn at(now: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
        now + TimeDelta::seconds(seconds)
    }

    #[test]
    fn a_token_is_kept_until_the_margin_before_d_expires() {
        let now = Utc::now();
        let keep = keep_for(now, at(now, 60 * MINUTE), now.timestamp() + 90 * MINUTE);
        assert_eq!(keep, Duration::from_secs(55 * 60));
    }

    #[test]
    fn a_token_is_never_kept_past_a1s_expiry() {
        let now = Utc::now();
        let keep = keep_for(now, at(now, 24 * 60 * MINUTE), now.timestamp() + 10 * MINUTE);
        assert_eq!(keep, Duration::from_secs(10 * 60));
    }

    #[test]
    fn a_d_expiring_within_the_margin_or_already_expired_is_not_kept() {
        let now = Utc::now();
        let a1_exp = now.timestamp() + 60 * MINUTE;
        assert_eq!(keep_for(now, at(now, 4 * MINUTE), a1_exp), Duration::ZERO);
        assert_eq!(keep_for(now, at(now, 5 * MINUTE), a1_exp), Duration::ZERO);
        assert_eq!(keep_for(now, at(now, -MINUTE), a1_exp), Duration::ZERO);
        assert_eq!(keep_for(now, at(now, 60 * MINUTE), now.timestamp() - 1), Duration::ZERO);
    }

    #[tokio::test]
    async fn an_entry_kept_for_zero_is_fetched_again() {
        let cache = ExchangeCache::new(1024 * 1024);
        let short = || async {
            let now = Utc::now();
            Ok::<_, ()>(CachedToken::new("d".to_owned().into(), at(now, MINUTE), now.timestamp() + MINUTE))
        };
        assert!(!cache.get_or_fetch([0; 32], short()).await.1);
        assert!(!cache.get_or_fetch([0; 32], short()).await.1, "not served from the cache");
        let long = || async {
            let now = Utc::now();
            Ok::<_, ()>(CachedToken::new("d".to_owned().into(), at(now, 60 * MINUTE), now.timestamp() + 3600))
        };
        assert!(!cache.get_or_fetch([1; 32], long()).await.1);
        assert!(cache.get_or_fetch([1; 32], long()).await.1, "served from the cache");
    }

    fn token(bytes: usize) -> CachedToken {
        let now = Utc::now();
        CachedToken::new("d".repeat(bytes).into(), at(now, 60 * MINUTE), now.timestamp() + 3600)
    }

    #[test]
    fn a_result_weighs_moka_s_share_its_key_its_entry_and_d() {
        let weight = weigh(&[0; 32], &token(1000));
        assert_eq!(weight as usize, weight::ENTRY_OVERHEAD + 32 + size_of::<CachedToken>() + 1008);
        assert_eq!(weigh(&[0; 32], &token(2000)) - weight, 2016 - 1008, "D's text counts");
    }

    #[tokio::test]
    async fn results_beyond_the_budget_are_evicted() {
        let per_result = u64::from(weigh(&[0; 32], &token(1000)));
        let cache = ExchangeCache::new(10 * per_result);
        for n in 0..50u8 {
            let fetched = cache.get_or_fetch([n; 32], async { Ok::<_, ()>(token(1000)) }).await;
            assert!(fetched.0.is_ok());
        }
        cache.entries.run_pending_tasks().await;
        assert!(cache.entries.weighted_size() <= 10 * per_result, "{}", cache.entries.weighted_size());
        assert!((1..=10).contains(&cache.entries.entry_count()), "{}", cache.entries.entry_count());
    }
}
