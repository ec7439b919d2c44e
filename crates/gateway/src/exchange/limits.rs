//! Token buckets, cluster-aware: each replica enforces its share of a rate (the rate and the burst
//! divided by the live replicas counted through Postgres heartbeats), so N replicas together hold a
//! tenant, or one user, to the limit without talking to each other per request. Tenants have the
//! limits of their settings; every Entra user (`tid`, `oid`) of a tenant has one more, the same for all,
//! so that one user replaying fresh tokens cannot spend the tenant's whole allowance at ACS.
//!
//! Users' buckets are bounded by the memory they take (about 450 bytes each); tenants' buckets are
//! not: there is one per tenant that exchanged since its last change (about 100 bytes), so the
//! registry bounds them, and a changed or deleted tenant's bucket is forgotten.

use std::{
    collections::HashMap,
    mem::size_of,
    num::NonZeroU32,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use registry::{domain::Limits, weight};
use uuid::Uuid;

/// A user's burst: this many exchanges at once, or the per-minute limit if lower.
pub const USER_BURST: u32 = 10;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn full(burst: f64) -> Self {
        Self { tokens: burst, refilled: Instant::now() }
    }

    /// Takes one token at `rate` per second up to `burst`, or says how long until one is available.
    fn take(&mut self, rate: f64, burst: f64) -> Result<(), Duration> {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    /// Returns a token taken for an exchange that did not happen after all.
    fn give_back(&mut self, burst: f64) {
        self.tokens = (self.tokens + 1.0).min(burst);
    }
}

/// Which limit refused an exchange, and how long until it would allow one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    User(Duration),
    Tenant(Duration),
}

/// One user of one tenant: the tenant's slug, the Entra `tid` and `oid`.
type UserKey = (String, Uuid, Uuid);

/// What one user's bucket costs: moka's bookkeeping, the key with the slug's text, and the bucket
/// behind its `Arc`.
fn weigh(key: &UserKey, _bucket: &Arc<Mutex<Bucket>>) -> u32 {
    let bucket = weight::alloc(2 * size_of::<usize>() + size_of::<Mutex<Bucket>>());
    weight::to_weight(weight::ENTRY_OVERHEAD + size_of::<UserKey>() + weight::text(&key.0) + bucket)
}

#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    users: moka::sync::Cache<UserKey, Arc<Mutex<Bucket>>>,
    user_per_minute: u32,
    live_replicas: AtomicU32,
}

impl RateLimiter {
    /// `user_per_minute` exchanges per minute for each user, whose buckets take at most
    /// `users_max_bytes`: the least used go first. A full bucket and a forgotten one behave the same,
    /// and a user being limited is in frequent use, so the buckets evicted are idle users'.
    pub fn new(user_per_minute: NonZeroU32, users_max_bytes: u64) -> Self {
        let user_per_minute = user_per_minute.get();
        // Idle this long, a user's bucket is full again: dropping it then forgets nothing.
        let refill = Duration::from_secs(u64::from(USER_BURST.min(user_per_minute)) * 60) / user_per_minute;
        let users = moka::sync::Cache::builder()
            .max_capacity(users_max_bytes)
            .weigher(weigh)
            .time_to_idle(refill + Duration::from_secs(1))
            .build();
        Self { buckets: Mutex::new(HashMap::new()), users, user_per_minute, live_replicas: AtomicU32::new(1) }
    }

    pub fn set_live_replicas(&self, count: u32) {
        self.live_replicas.store(count.max(1), Ordering::Relaxed);
    }

    pub fn live_replicas(&self) -> u32 {
        self.live_replicas.load(Ordering::Relaxed)
    }

    /// This replica's share of `rate` per second and `burst`; never less than one request.
    fn share(&self, rate: f64, burst: f64) -> (f64, f64) {
        let replicas = f64::from(self.live_replicas());
        (rate / replicas, (burst / replicas).max(1.0))
    }

    /// Takes a token from the user's bucket and one from the tenant's, or neither: a user over their
    /// limit spends nothing of the tenant's, and a refusal by the tenant's limit costs the user nothing.
    pub fn try_acquire_exchange(
        &self,
        tenant: &str,
        limits: Limits,
        tid: Uuid,
        oid: Uuid,
    ) -> Result<(), Limited> {
        let (user, (rate, burst)) = self.user_bucket(tenant, tid, oid);
        let mut user = user.lock().unwrap_or_else(PoisonError::into_inner);
        user.take(rate, burst).map_err(Limited::User)?;
        self.try_acquire(tenant, limits).map_err(|wait| {
            user.give_back(burst);
            Limited::Tenant(wait)
        })
    }

    /// Takes one token from the tenant's bucket, or says how long until one is available.
    fn try_acquire(&self, tenant: &str, limits: Limits) -> Result<(), Duration> {
        let (rate, burst) = self.share(f64::from(limits.exchanges_per_second()), f64::from(limits.burst()));
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.entry(tenant.to_owned()).or_insert_with(|| Bucket::full(burst)).take(rate, burst)
    }

    /// The bucket of the Entra user `tid`/`oid` of `tenant`, with this replica's rate and burst.
    fn user_bucket(&self, tenant: &str, tid: Uuid, oid: Uuid) -> (Arc<Mutex<Bucket>>, (f64, f64)) {
        let per_minute = f64::from(self.user_per_minute);
        let (rate, burst) = self.share(per_minute / 60.0, f64::from(USER_BURST).min(per_minute));
        let bucket =
            self.users.get_with((tenant.to_owned(), tid, oid), || Arc::new(Mutex::new(Bucket::full(burst))));
        (bucket, (rate, burst))
    }

    #[cfg(test)]
    fn try_acquire_user(&self, tenant: &str, tid: Uuid, oid: Uuid) -> Result<(), Duration> {
        let (bucket, (rate, burst)) = self.user_bucket(tenant, tid, oid);
        let mut bucket = bucket.lock().unwrap_or_else(PoisonError::into_inner);
        bucket.take(rate, burst)
    }

    pub fn forget(&self, tenant: &str) {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).remove(tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(user_per_minute: u32) -> RateLimiter {
        RateLimiter::new(NonZeroU32::new(user_per_minute).unwrap(), 1 << 20)
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = limiter(30);
        let limits = Limits::new(1, 3).unwrap();
        for _ in 0..3 {
            assert!(limiter.try_acquire("t", limits).is_ok());
        }
        let wait = limiter.try_acquire("t", limits).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn tenants_have_separate_buckets() {
        let limiter = limiter(30);
        let limits = Limits::new(1, 1).unwrap();
        assert!(limiter.try_acquire("a", limits).is_ok());
        assert!(limiter.try_acquire("a", limits).is_err());
        assert!(limiter.try_acquire("b", limits).is_ok());
    }

    #[test]
    fn each_replica_enforces_its_share_of_the_burst_and_rate() {
        let limiter = limiter(30);
        limiter.set_live_replicas(2);
        let limits = Limits::new(10, 4).unwrap();
        assert!(limiter.try_acquire("t", limits).is_ok());
        assert!(limiter.try_acquire("t", limits).is_ok());
        let wait = limiter.try_acquire("t", limits).unwrap_err();
        assert!(
            wait > Duration::from_millis(150) && wait <= Duration::from_millis(200),
            "5 per second: {wait:?}"
        );
    }

    #[test]
    fn a_share_never_drops_below_one_request() {
        let limiter = limiter(30);
        limiter.set_live_replicas(10);
        assert!(limiter.try_acquire("t", Limits::new(1, 1).unwrap()).is_ok());
    }

    const TID: Uuid = Uuid::from_u128(1);

    #[test]
    fn a_user_gets_the_burst_then_waits_for_the_per_minute_rate() {
        let limiter = limiter(3);
        let (alice, bob) = (Uuid::from_u128(10), Uuid::from_u128(11));
        for _ in 0..3 {
            assert!(limiter.try_acquire_user("t", TID, alice).is_ok());
        }
        let wait = limiter.try_acquire_user("t", TID, alice).unwrap_err();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.try_acquire_user("t", TID, bob).is_ok(), "users have separate buckets");
        assert!(limiter.try_acquire_user("other", TID, alice).is_ok(), "and so do tenants");
    }

    #[test]
    fn a_users_burst_is_small_and_shared_among_replicas() {
        let limiter = limiter(600);
        limiter.set_live_replicas(2);
        let user = Uuid::from_u128(10);
        let allowed = (0..20).filter(|_| limiter.try_acquire_user("t", TID, user).is_ok()).count();
        assert_eq!(allowed, 5, "half of a burst of 10");
    }

    #[test]
    fn a_refusal_by_the_tenants_limit_costs_the_user_nothing() {
        let limiter = limiter(1);
        let tenant = Limits::new(1, 1).unwrap();
        let user = Uuid::from_u128(10);
        assert_eq!(limiter.try_acquire_exchange("t", tenant, TID, Uuid::from_u128(11)), Ok(()));
        assert!(matches!(limiter.try_acquire_exchange("t", tenant, TID, user), Err(Limited::Tenant(_))));
        assert_eq!(limiter.try_acquire_user("t", TID, user), Ok(()), "the user's one token is still there");
    }

    #[test]
    fn a_user_over_their_limit_spends_nothing_of_the_tenants() {
        let limiter = limiter(1);
        let tenant = Limits::new(1, 2).unwrap();
        let (alice, bob) = (Uuid::from_u128(10), Uuid::from_u128(11));
        assert_eq!(limiter.try_acquire_exchange("t", tenant, TID, alice), Ok(()));
        assert!(matches!(limiter.try_acquire_exchange("t", tenant, TID, alice), Err(Limited::User(_))));
        assert_eq!(limiter.try_acquire_exchange("t", tenant, TID, bob), Ok(()), "the tenant's second token");
    }

    #[test]
    fn a_users_bucket_weighs_moka_s_share_its_key_and_the_bucket() {
        let bucket = Arc::new(Mutex::new(Bucket::full(10.0)));
        let short = weigh(&("t".to_owned(), TID, TID), &bucket) as usize;
        let long = weigh(&("t".repeat(40), TID, TID), &bucket) as usize;
        assert_eq!(long - short, 48 - 32, "the slug's text counts");
        assert!((400..500).contains(&short), "{short}");
    }

    #[test]
    fn users_beyond_the_budget_are_evicted() {
        let bucket = Arc::new(Mutex::new(Bucket::full(10.0)));
        let per_user = u64::from(weigh(&("t".to_owned(), TID, TID), &bucket));
        let limiter = RateLimiter::new(NonZeroU32::new(30).unwrap(), 10 * per_user);
        for n in 0..50 {
            assert!(limiter.try_acquire_user("t", TID, Uuid::from_u128(n)).is_ok());
        }
        limiter.users.run_pending_tasks();
        assert!(limiter.users.weighted_size() <= 10 * per_user, "{}", limiter.users.weighted_size());
        assert!((1..=10).contains(&limiter.users.entry_count()), "{}", limiter.users.entry_count());
    }
}
