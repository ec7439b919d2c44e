//! Whether Postgres answers, as this replica last saw it: a small breaker fed by every registry call,
//! the change listener and the readiness check. While Postgres is known to be unreachable, calls
//! fail at once with [`RegistryError::Unavailable`] instead of waiting for a connection, and one call
//! per probe interval is let through to find out whether it is back.
//!
//! Every call is also bounded in time: a hung server (a failover in progress, a stopped process)
//! keeps TCP connections open and would otherwise hold a request until the pool gives up.

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::RegistryError;

/// What a client is told to wait before trying again while Postgres is unreachable: long enough not
/// to hammer a failover, short enough to notice its end.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// How long a registry call may take before it counts as Postgres not answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// On the exchange path: an unknown tenant must hear "unavailable" in well under a second.
    Lookup,
    /// Admin requests and operations: a write is a few statements in one transaction.
    Request,
}

#[derive(Debug, Clone)]
pub struct HealthConfig {
    pub lookup_timeout: Duration,
    pub request_timeout: Duration,
    /// While Postgres is down, one call in this interval is let through to probe it.
    pub probe_interval: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            lookup_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_millis(1500),
            probe_interval: Duration::from_secs(1),
        }
    }
}

/// Shared by every registry user of a replica; cheap to clone.
#[derive(Clone)]
pub struct RegistryHealth {
    inner: Arc<Inner>,
}

struct Inner {
    config: HealthConfig,
    state: Mutex<State>,
    /// Counts the times Postgres came back after being unreachable.
    recoveries: tokio::sync::watch::Sender<u64>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Up,
    Down { since: Instant, next_probe: Instant },
}

impl Default for RegistryHealth {
    fn default() -> Self {
        Self::new(HealthConfig::default())
    }
}

impl RegistryHealth {
    pub fn new(config: HealthConfig) -> Self {
        let recoveries = tokio::sync::watch::channel(0).0;
        Self { inner: Arc::new(Inner { config, state: Mutex::new(State::Up), recoveries }) }
    }

    /// Whether Postgres answered the last time anyone asked.
    pub fn is_up(&self) -> bool {
        matches!(*self.state(), State::Up)
    }

    /// Since when Postgres has been unreachable, if it is.
    pub fn down_since(&self) -> Option<Instant> {
        match *self.state() {
            State::Up => None,
            State::Down { since, .. } => Some(since),
        }
    }

    /// Changes each time Postgres answers again after being unreachable: the change listener then
    /// starts a new session, since its connection may have died silently meanwhile.
    pub fn recoveries(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.recoveries.subscribe()
    }

    /// Runs one registry call within its budget. Fails at once while Postgres is known to be
    /// unreachable (except for one probe per interval); an answer that says Postgres cannot be
    /// reached becomes [`RegistryError::Unavailable`] and marks it down; any answer from Postgres
    /// marks it up.
    pub async fn guard<T>(
        &self,
        budget: Budget,
        call: impl Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        self.admit()?;
        let timeout = match budget {
            Budget::Lookup => self.inner.config.lookup_timeout,
            Budget::Request => self.inner.config.request_timeout,
        };
        let Ok(result) = tokio::time::timeout(timeout, call).await else {
            self.record_failure("no answer in time");
            return Err(RegistryError::Unavailable);
        };
        match result {
            Err(error) if error.is_unreachable() => {
                self.record_failure(&error.to_string());
                Err(RegistryError::Unavailable)
            }
            Err(error) if error.is_read_only() => {
                // Postgres answers, but is a standby during a failover: writes wait for the new primary.
                self.record_success();
                Err(RegistryError::Unavailable)
            }
            // Refused before reaching Postgres: says nothing about it.
            Err(error @ RegistryError::Seal(_)) => Err(error),
            other => {
                self.record_success();
                other
            }
        }
    }

    /// Postgres answered (a query, the listener's connection, the readiness check).
    pub fn record_success(&self) {
        let mut state = self.state();
        if let State::Down { since, .. } = *state {
            *state = State::Up;
            drop(state);
            tracing::info!(down_ms = since.elapsed().as_millis(), "postgres answers again");
            self.inner.recoveries.send_modify(|count| *count += 1);
        }
    }

    /// Postgres could not be reached; `why` is logged on the first failure only.
    pub fn record_failure(&self, why: &str) {
        let now = Instant::now();
        let mut state = self.state();
        let since = match *state {
            State::Up => {
                tracing::warn!(error = why, "postgres is unreachable; serving known tenants from memory");
                now
            }
            State::Down { since, .. } => since,
        };
        *state = State::Down { since, next_probe: now + self.inner.config.probe_interval };
    }

    /// `Err` while Postgres is down and the next probe is not due; otherwise this call may go.
    fn admit(&self) -> Result<(), RegistryError> {
        let now = Instant::now();
        let mut state = self.state();
        match *state {
            State::Up => Ok(()),
            State::Down { since, next_probe } if now >= next_probe => {
                // This call is the probe; the others keep failing fast until it answers.
                *state = State::Down { since, next_probe: now + self.inner.config.probe_interval };
                Ok(())
            }
            State::Down { .. } => Err(RegistryError::Unavailable),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RegistryError {
    /// Whether this error says Postgres could not be reached (as opposed to refusing what was asked).
    pub(crate) fn is_unreachable(&self) -> bool {
        let Self::Database(error) = self else {
            return matches!(self, Self::Unavailable);
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unreachable_sqlstate(&code)),
            _ => false,
        }
    }

    /// A write refused by a standby (`25006 read_only_sql_transaction`), as happens during a failover.
    fn is_read_only(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("25006"))
    }
}

/// SQLSTATEs that mean the server is going away or not there yet: class 08 (connection exception),
/// 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too many connections).
fn is_unreachable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> RegistryHealth {
        RegistryHealth::new(HealthConfig {
            lookup_timeout: Duration::from_millis(50),
            request_timeout: Duration::from_millis(50),
            probe_interval: Duration::from_secs(3600),
        })
    }

    fn refused() -> RegistryError {
        RegistryError::Database(sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()))
    }

    #[tokio::test]
    async fn a_refused_connection_marks_postgres_down_and_the_next_call_fails_without_running() {
        let health = fast();
        let first = health.guard(Budget::Lookup, async { Err::<(), _>(refused()) }).await;
        assert!(matches!(first, Err(RegistryError::Unavailable)));
        assert!(!health.is_up());
        let ran = std::sync::atomic::AtomicBool::new(false);
        let second = health
            .guard(Budget::Request, async {
                ran.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(matches!(second, Err(RegistryError::Unavailable)));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_hangs_past_its_budget_is_unavailable_when_the_budget_runs_out() {
        let health = fast();
        let started = tokio::time::Instant::now();
        let result = health.guard(Budget::Lookup, std::future::pending::<Result<(), RegistryError>>()).await;
        assert!(matches!(result, Err(RegistryError::Unavailable)));
        assert_eq!(started.elapsed(), Duration::from_millis(50), "the lookup budget, not more");
        assert!(health.down_since().is_some());
    }

    #[tokio::test]
    async fn an_error_postgres_answered_with_keeps_it_up() {
        let health = fast();
        let result = health.guard(Budget::Request, async { Err::<(), _>(RegistryError::NotFound) }).await;
        assert!(matches!(result, Err(RegistryError::NotFound)));
        assert!(health.is_up());
    }

    #[tokio::test]
    async fn one_probe_per_interval_goes_through_while_down_and_its_success_brings_postgres_back() {
        let health =
            RegistryHealth::new(HealthConfig { probe_interval: Duration::ZERO, ..HealthConfig::default() });
        health.record_failure("test");
        assert!(!health.is_up());
        let recoveries = health.recoveries();
        let probe = health.guard(Budget::Lookup, async { Ok(7) }).await;
        assert_eq!(probe.ok(), Some(7));
        assert!(health.is_up());
        assert!(recoveries.has_changed().unwrap(), "the listener hears that postgres is back");
    }

    #[test]
    fn connection_exceptions_and_shutdowns_are_unreachable_but_constraint_errors_are_not() {
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(is_unreachable_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "25006", "42P01"] {
            assert!(!is_unreachable_sqlstate(code), "{code}");
        }
        assert!(refused().is_unreachable());
        assert!(!RegistryError::SlugTaken.is_unreachable());
    }
}
