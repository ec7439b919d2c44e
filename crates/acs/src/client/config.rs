//! Knobs of the ACS client, with defaults sized for an interactive exchange: the end user is waiting,
//! and ACS normally answers in 20–40 ms (`X-Processing-Time`).

use std::{fmt, sync::Arc, time::Duration};

use jose::clock::Clock;

use crate::observer::UpstreamObserver;

/// How the [`AcsClient`](super::AcsClient) talks to ACS.
#[derive(Clone)]
pub struct AcsClientConfig {
    /// The Identity API version sent as `api-version`. `2023-10-01` is the newest GA version the
    /// released SDKs use; the exchange contract is the same in every GA version since 2022-06-01.
    pub api_version: String,
    /// Time to establish a TCP (and TLS) connection. Short: an unreachable host should be retried or
    /// reported, not waited on.
    pub connect_timeout: Duration,
    /// Time for one attempt, from sending to the last byte of the answer (also bounds a token fetch).
    pub attempt_timeout: Duration,
    /// Time for the whole call, retries and backoff included. No `Retry-After` is honoured past it.
    pub total_timeout: Duration,
    /// Tries in all (1 = no retries). Only 429, 500, 502, 503, 504 and connect errors are retried.
    pub max_attempts: u32,
    /// First backoff; it doubles per retry, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub breaker: BreakerConfig,
    /// Told about every upstream attempt (for metrics). `None` to skip.
    pub observer: Option<Arc<dyn UpstreamObserver>>,
    /// Times the circuit breakers' cool-downs: the real clock, or a manual one in tests.
    pub clock: Clock,
}

impl Default for AcsClientConfig {
    fn default() -> Self {
        Self {
            api_version: "2023-10-01".to_owned(),
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(2),
            breaker: BreakerConfig::default(),
            observer: None,
            clock: Clock::real(),
        }
    }
}

impl fmt::Debug for AcsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcsClientConfig")
            .field("api_version", &self.api_version)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("breaker", &self.breaker)
            .field("observer", &self.observer.as_ref().map(|_| "..."))
            .field("clock", &self.clock)
            .finish()
    }
}

/// The per-tenant circuit breaker.
///
/// It counts *calls* (each already retried), not attempts, and only failures that say ACS is down:
/// unreachable, timed out, or 5xx past the retries. A 400 or 401 proves ACS is up, so it counts as a
/// success. Five failed calls in a row is at least fifteen failed tries: past a blip, clearly an
/// outage, and while it lasts each call would hold a request for up to `total_timeout`.
#[derive(Debug, Clone)]
pub struct BreakerConfig {
    /// Consecutive failed calls that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one probe call is let through (half-open). Also the
    /// `Retry-After` given while open: long enough to shed load, short enough that a recovered
    /// resource is used again quickly.
    pub open_for: Duration,
    /// Tenants tracked at once (only tenants with recent failures are); beyond it the least useful
    /// entries are dropped. Bounds memory however many tenants come and go.
    pub max_tenants: usize,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 5, open_for: Duration::from_secs(15), max_tenants: 10_000 }
    }
}
