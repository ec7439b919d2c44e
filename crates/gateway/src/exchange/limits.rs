//! Per-tenant token buckets, cluster-aware: each replica enforces its share of the tenant's rate
//! (the rate and the burst divided by the live replicas counted through Postgres heartbeats), so N
//! replicas together hold the tenant to its limit without talking to each other per request.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use registry::domain::Limits;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

#[derive(Debug)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    live_replicas: AtomicU32,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self { buckets: Mutex::new(HashMap::new()), live_replicas: AtomicU32::new(1) }
    }
}

impl RateLimiter {
    pub fn set_live_replicas(&self, count: u32) {
        self.live_replicas.store(count.max(1), Ordering::Relaxed);
    }

    pub fn live_replicas(&self) -> u32 {
        self.live_replicas.load(Ordering::Relaxed)
    }

    /// Takes one token from the tenant's bucket, or says how long until one is available.
    pub fn try_acquire(&self, tenant: &str, limits: Limits) -> Result<(), Duration> {
        let replicas = f64::from(self.live_replicas());
        let rate = f64::from(limits.exchanges_per_second()) / replicas;
        let burst = (f64::from(limits.burst()) / replicas).max(1.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(tenant.to_owned()).or_insert(Bucket { tokens: burst, refilled: now });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }

    pub fn forget(&self, tenant: &str) {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).remove(tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = RateLimiter::default();
        let limits = Limits::new(1, 3).unwrap();
        for _ in 0..3 {
            assert!(limiter.try_acquire("t", limits).is_ok());
        }
        let wait = limiter.try_acquire("t", limits).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
    }

    #[test]
    fn tenants_have_separate_buckets() {
        let limiter = RateLimiter::default();
        let limits = Limits::new(1, 1).unwrap();
        assert!(limiter.try_acquire("a", limits).is_ok());
        assert!(limiter.try_acquire("a", limits).is_err());
        assert!(limiter.try_acquire("b", limits).is_ok());
    }

    #[test]
    fn each_replica_enforces_its_share_of_the_burst_and_rate() {
        let limiter = RateLimiter::default();
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
        let limiter = RateLimiter::default();
        limiter.set_live_replicas(10);
        assert!(limiter.try_acquire("t", Limits::new(1, 1).unwrap()).is_ok());
    }
}
