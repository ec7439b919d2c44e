//! Per-tenant circuit breakers: when a tenant's ACS resource is down, answer at once instead of
//! holding every request for the whole retry budget (and hammering a struggling service).
//!
//! Only tenants with recent failures have an entry; a success removes it. With `forget_tenant` and
//! a cap on entries, memory stays bounded however many tenants come and go.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use jose::clock::Clock;

use super::config::BreakerConfig;
use crate::error::AcsError;

/// The longest a caller is asked to wait while another call probes a half-open breaker.
const PROBE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Where a tenant's breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused with [`AcsError::CircuitOpen`](crate::AcsError::CircuitOpen).
    Open,
    /// The cool-down is over: the next call goes through as a probe; its outcome closes or reopens.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// What a finished call says about ACS's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// ACS answered coherently (a token, or a 4xx, a refusal of the user included): it is up.
    Healthy,
    /// Unreachable, timed out, or 5xx past retries.
    Failed,
    /// Says nothing about ACS (e.g. the bearer token could not be fetched).
    Unknown,
}

impl Verdict {
    /// Only "ACS is down" outcomes count against the breaker; a 4xx (even 429) proves it is up.
    pub(crate) fn of<T>(result: &Result<T, AcsError>) -> Self {
        match result {
            Ok(_) => Self::Healthy,
            Err(error) if error.is_upstream_failure() => Self::Failed,
            Err(AcsError::TokenEndpoint(_) | AcsError::Protocol(_) | AcsError::CircuitOpen { .. }) => {
                Self::Unknown
            }
            Err(_) => Self::Healthy,
        }
    }
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Entry {
    failures: u32,
    phase: Phase,
}

#[derive(Debug)]
pub(crate) struct Breakers {
    config: BreakerConfig,
    clock: Clock,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Permission for one call. Settle it with the call's verdict; if the call is dropped half-way (the
/// client went away), dropping the admission frees the probe slot so the breaker cannot stick.
pub(crate) struct Admission {
    breakers: Arc<Breakers>,
    tenant: String,
    probe: bool,
    settled: bool,
}

impl Admission {
    pub(crate) fn settle(mut self, verdict: Verdict) {
        self.settled = true;
        self.breakers.record_at(&self.tenant, self.probe, verdict, self.breakers.clock.now());
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled {
            self.breakers.record_at(&self.tenant, self.probe, Verdict::Unknown, self.breakers.clock.now());
        }
    }
}

impl Breakers {
    pub(crate) fn new(config: BreakerConfig, clock: Clock) -> Self {
        Self { config, clock, entries: Mutex::new(HashMap::new()) }
    }

    /// Lets a call through, or says how long to wait.
    pub(crate) fn admit(self: &Arc<Self>, tenant: &str) -> Result<Admission, Duration> {
        let probe = self.admit_at(tenant, self.clock.now())?;
        Ok(Admission { breakers: Arc::clone(self), tenant: tenant.to_owned(), probe, settled: false })
    }

    /// `Ok(true)` when this call is the half-open probe.
    fn admit_at(&self, tenant: &str, now: Instant) -> Result<bool, Duration> {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(tenant) else { return Ok(false) };
        match entry.phase {
            Phase::Closed => Ok(false),
            Phase::Open { until } if now < until => Err(until - now),
            Phase::Open { .. } | Phase::HalfOpen { probing: false } => {
                entry.phase = Phase::HalfOpen { probing: true };
                tracing::info!(tenant, "ACS circuit half-open: letting one probe call through");
                Ok(true)
            }
            Phase::HalfOpen { probing: true } => Err(PROBE_RETRY_AFTER.min(self.config.open_for)),
        }
    }

    fn record_at(&self, tenant: &str, probe: bool, verdict: Verdict, now: Instant) {
        let mut entries = self.lock();
        match verdict {
            Verdict::Healthy => {
                if let Some(Entry { phase: Phase::Open { .. } | Phase::HalfOpen { .. }, .. }) =
                    entries.remove(tenant)
                {
                    tracing::info!(tenant, "ACS circuit closed: the resource answers again");
                }
            }
            Verdict::Unknown => {
                if let Some(entry) = entries.get_mut(tenant).filter(|_| probe) {
                    entry.phase = Phase::HalfOpen { probing: false };
                }
            }
            Verdict::Failed => self.record_failure(&mut entries, tenant, probe, now),
        }
    }

    fn record_failure(&self, entries: &mut HashMap<String, Entry>, tenant: &str, probe: bool, now: Instant) {
        let open = Phase::Open { until: now + self.config.open_for };
        let threshold = self.config.failure_threshold.max(1);
        match entries.get_mut(tenant) {
            Some(entry) => match entry.phase {
                Phase::Closed => {
                    entry.failures += 1;
                    if entry.failures >= threshold {
                        entry.phase = open;
                        tracing::warn!(
                            tenant,
                            failures = entry.failures,
                            "ACS circuit opened after consecutive failures"
                        );
                    }
                }
                Phase::HalfOpen { .. } if probe => {
                    entry.phase = open;
                    tracing::warn!(tenant, "ACS circuit reopened: the probe call failed");
                }
                // A call that started before the breaker opened: its news is stale.
                Phase::Open { .. } | Phase::HalfOpen { .. } => {}
            },
            None => {
                if !self.make_room(entries) {
                    tracing::debug!(tenant, "ACS breaker table full; not tracking this tenant's failure");
                    return;
                }
                let phase = if threshold == 1 { open } else { Phase::Closed };
                entries.insert(tenant.to_owned(), Entry { failures: 1, phase });
            }
        }
    }

    /// Drops closed entries (failures below the threshold) when the table is full.
    fn make_room(&self, entries: &mut HashMap<String, Entry>) -> bool {
        if entries.len() >= self.config.max_tenants {
            entries.retain(|_, entry| !matches!(entry.phase, Phase::Closed));
        }
        entries.len() < self.config.max_tenants
    }

    pub(crate) fn state(&self, tenant: &str) -> BreakerState {
        self.state_at(tenant, self.clock.now())
    }

    fn state_at(&self, tenant: &str, now: Instant) -> BreakerState {
        self.lock().get(tenant).map_or(BreakerState::Closed, |entry| state_of(entry, now))
    }

    /// The tenants whose breaker is not plainly closed with no failures; all others are `Closed`.
    pub(crate) fn states(&self) -> Vec<(String, BreakerState)> {
        let now = self.clock.now();
        self.lock().iter().map(|(tenant, entry)| (tenant.clone(), state_of(entry, now))).collect()
    }

    pub(crate) fn forget(&self, tenant: &str) {
        self.lock().remove(tenant);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Critical sections never panic half-way through an update, so a poisoned map is still sound.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn state_of(entry: &Entry, now: Instant) -> BreakerState {
    match entry.phase {
        Phase::Closed => BreakerState::Closed,
        Phase::Open { until } if now < until => BreakerState::Open,
        Phase::Open { .. } | Phase::HalfOpen { .. } => BreakerState::HalfOpen,
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
