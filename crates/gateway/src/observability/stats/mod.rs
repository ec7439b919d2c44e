//! Per-tenant statistics that survive restarts and add up across replicas: each replica counts in
//! memory (off the hot path's I/O) and writes its running per-minute totals to Postgres every few
//! seconds, the rows changed since the last flush in one statement (per [`ROWS_PER_STATEMENT`] rows),
//! and once more, within a deadline, as it stops; the stats endpoint sums every replica's rows for
//! the last hour and day. Rows older than [`RETENTION`] are pruned.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures_util::{StreamExt, stream};
use registry::{
    RegistryError,
    domain::TenantSlug,
    health::{Budget, RegistryHealth},
    stats::{MinuteRow, MinuteTotals},
};
use sqlx::PgPool;
use uuid::Uuid;

pub use self::windows::{Percentiles, StatsWindow, TenantStats, percentile, tenant_stats};
use super::ExchangeRecord;

mod windows;

/// How long per-minute rows are kept.
pub const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

/// Upper bounds (milliseconds) of the latency buckets; the last bucket is everything above.
pub const LATENCY_BOUNDS_MS: &[u64] =
    &[5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000];

/// The most rows one statement writes: a flush with more is written in several statements. At this
/// size a statement carries ~1 MB and takes Postgres well under its request budget.
pub const ROWS_PER_STATEMENT: usize = 5_000;

/// Statements in flight at once (each on its own connection) in the last flush before exit, when
/// nothing else needs the pool and a large backlog must fit in the time left. A flush while serving
/// writes one statement at a time, leaving the pool to the requests.
const EXIT_STATEMENTS_IN_FLIGHT: usize = 4;

type MinuteKey = (String, DateTime<Utc>);

pub struct StatsRecorder {
    replica: Uuid,
    rows_per_statement: usize,
    minutes: Mutex<HashMap<MinuteKey, Pending>>,
}

/// A tenant's minute as counted here, and how much of it Postgres has.
#[derive(Debug)]
struct Pending {
    totals: MinuteTotals,
    /// Bumped by everything counted into `totals`.
    changes: u64,
    /// `changes` as of the last totals Postgres acknowledged: the row is up to date when equal.
    written: u64,
}

/// A changed row taken out for writing, with the `changes` its totals reflect.
struct Taken {
    tenant: TenantSlug,
    minute: DateTime<Utc>,
    totals: MinuteTotals,
    changes: u64,
}

/// What one flush did: the figures of its log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Rows sent in statements Postgres acknowledged.
    pub rows: usize,
    /// Statements Postgres acknowledged (one per [`ROWS_PER_STATEMENT`] rows).
    pub statements: usize,
    /// Changed rows not written: kept for the next flush, lost if this was the last.
    pub left: usize,
}

/// How a flush bounds its statements.
#[derive(Clone, Copy)]
enum Bound<'a> {
    /// While serving: each statement within the request budget, through the registry's breaker.
    Breaker(&'a RegistryHealth),
    /// At exit: whatever Postgres was a moment ago, until the deadline and no longer.
    Deadline(tokio::time::Instant),
}

fn current_minute() -> DateTime<Utc> {
    Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap_or_else(|_| Utc::now())
}

fn empty_totals() -> MinuteTotals {
    MinuteTotals { latency_buckets: vec![0; LATENCY_BOUNDS_MS.len() + 1], ..MinuteTotals::default() }
}

impl StatsRecorder {
    pub fn new(replica: Uuid) -> Self {
        Self { replica, rows_per_statement: ROWS_PER_STATEMENT, minutes: Mutex::new(HashMap::new()) }
    }

    /// The same recorder writing at most `rows` rows per statement (at least one): for tests that
    /// need a flush of several statements without thousands of tenants.
    #[must_use]
    pub fn with_rows_per_statement(mut self, rows: usize) -> Self {
        self.rows_per_statement = rows.max(1);
        self
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<MinuteKey, Pending>> {
        self.minutes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_minute(&self, tenant: &str, update: impl FnOnce(&mut MinuteTotals)) {
        let mut minutes = self.lock();
        let pending = minutes.entry((tenant.to_owned(), current_minute())).or_insert_with(|| Pending {
            totals: empty_totals(),
            changes: 0,
            written: 0,
        });
        update(&mut pending.totals);
        pending.changes += 1;
    }

    pub fn exchange(&self, record: &ExchangeRecord<'_>) {
        let millis = u64::try_from(record.duration.as_millis()).unwrap_or(u64::MAX);
        let bucket =
            LATENCY_BOUNDS_MS.iter().position(|bound| millis <= *bound).unwrap_or(LATENCY_BOUNDS_MS.len());
        self.with_minute(record.tenant, |totals| {
            *totals.outcomes.entry(record.outcome.to_owned()).or_default() += 1;
            totals.cache_hits += i64::from(record.cache_hit);
            totals.latency_buckets[bucket] += 1;
        });
    }

    pub fn upstream_call(&self, tenant: &str) {
        self.with_minute(tenant, |totals| totals.upstream_calls += 1);
    }

    /// Writes every row changed since it was last written, [`ROWS_PER_STATEMENT`] rows a statement,
    /// each within the request budget. What cannot be written now (Postgres unreachable) is kept for
    /// the next flush, and once Postgres is known to be down the remaining statements fail at once.
    pub async fn flush(&self, pool: &PgPool, health: &RegistryHealth) -> Flushed {
        let started = Instant::now();
        let (flushed, error) = self.write_changed(pool, Bound::Breaker(health)).await;
        if let Some(error) = error {
            tracing::warn!(%error, rows = flushed.left, "could not write exchange statistics; will retry");
        }
        let elapsed_ms = started.elapsed().as_millis();
        let Flushed { rows, statements, left } = flushed;
        tracing::debug!(rows, statements, left, elapsed_ms, "exchange statistics written");
        flushed
    }

    /// The last flush, as the replica stops: every changed row, tried whatever the breaker says
    /// (there is no later), no statement running past `deadline`. What is not written by then is
    /// lost, and a warning says how many rows.
    pub async fn flush_before_exit(&self, pool: &PgPool, deadline: tokio::time::Instant) -> Flushed {
        let (flushed, error) = self.write_changed(pool, Bound::Deadline(deadline)).await;
        let Flushed { rows, statements, left } = flushed;
        match error {
            None => tracing::info!(rows, statements, "exchange statistics written before exit"),
            Some(error) => tracing::warn!(
                %error,
                rows,
                rows_not_written = left,
                "exchange statistics could not all be written before exit; the rest are lost"
            ),
        }
        flushed
    }

    async fn write_changed(&self, pool: &PgPool, bound: Bound<'_>) -> (Flushed, Option<RegistryError>) {
        let taken = self.take_changed();
        let in_flight = match bound {
            Bound::Breaker(_) => 1,
            Bound::Deadline(_) => EXIT_STATEMENTS_IN_FLIGHT,
        };
        let mut flushed = Flushed { left: taken.len(), ..Flushed::default() };
        let mut failure = None;
        let chunks = taken.chunks(self.rows_per_statement);
        let writes: Vec<_> = chunks.map(|chunk| self.write_chunk(pool, chunk, bound)).collect();
        let mut writes = stream::iter(writes).buffer_unordered(in_flight);
        while let Some((chunk, written)) = writes.next().await {
            match written {
                Ok(_) => {
                    self.acknowledge(chunk);
                    flushed.rows += chunk.len();
                    flushed.statements += 1;
                    flushed.left -= chunk.len();
                }
                Err(error) => failure = Some(error),
            }
        }
        (flushed, failure)
    }

    /// One statement, within its bound; says which rows it was for.
    async fn write_chunk<'a>(
        &self,
        pool: &PgPool,
        chunk: &'a [Taken],
        bound: Bound<'_>,
    ) -> (&'a [Taken], Result<u64, RegistryError>) {
        let rows: Vec<MinuteRow<'_>> = chunk
            .iter()
            .map(|row| MinuteRow { tenant: &row.tenant, minute: row.minute, totals: &row.totals })
            .collect();
        let write = registry::stats::write_minutes(pool, self.replica, &rows);
        let written = match bound {
            Bound::Breaker(health) => health.guard(Budget::Request, write).await,
            Bound::Deadline(at) if tokio::time::Instant::now() < at => {
                tokio::time::timeout_at(at, write).await.unwrap_or(Err(RegistryError::Unavailable))
            }
            Bound::Deadline(_) => Err(RegistryError::Unavailable),
        };
        (chunk, written)
    }

    /// Copies of the rows changed since they were last written. Rows that are written and whose
    /// minute is over are forgotten, and so are rows that can never be written (no tenant slug).
    fn take_changed(&self) -> Vec<Taken> {
        let now = current_minute();
        let mut taken = Vec::new();
        self.lock().retain(|(tenant, minute), pending| {
            if pending.written == pending.changes {
                return *minute >= now;
            }
            let Ok(tenant) = TenantSlug::parse(tenant) else { return false };
            let (totals, changes) = (pending.totals.clone(), pending.changes);
            taken.push(Taken { tenant, minute: *minute, totals, changes });
            true
        });
        taken
    }

    /// Postgres has these rows: each is up to date unless counted into meanwhile.
    fn acknowledge(&self, rows: &[Taken]) {
        let mut minutes = self.lock();
        for row in rows {
            if let Some(pending) = minutes.get_mut(&(row.tenant.as_str().to_owned(), row.minute)) {
                pending.written = pending.written.max(row.changes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_are_counted_per_minute_by_outcome_and_latency() {
        let recorder = StatsRecorder::new(Uuid::nil());
        let record = |outcome, ms, cache_hit| ExchangeRecord {
            tenant: "t1",
            outcome,
            duration: Duration::from_millis(ms),
            cache_hit,
        };
        recorder.exchange(&record("ok", 3, false));
        recorder.exchange(&record("ok", 120, true));
        recorder.exchange(&record("invalid_token", 1, false));
        recorder.upstream_call("t1");
        let minutes = recorder.minutes.lock().unwrap();
        let totals = &minutes.values().next().unwrap().totals;
        assert_eq!(totals.outcomes["ok"], 2);
        assert_eq!(totals.outcomes["invalid_token"], 1);
        assert_eq!((totals.cache_hits, totals.upstream_calls), (1, 1));
        assert_eq!(totals.latency_buckets[0], 2);
        assert_eq!(totals.latency_buckets[6], 1);
    }

    fn tenants(taken: &[Taken]) -> Vec<&str> {
        let mut tenants: Vec<&str> = taken.iter().map(|row| row.tenant.as_str()).collect();
        tenants.sort_unstable();
        tenants
    }

    #[test]
    fn written_rows_of_a_past_minute_are_forgotten_and_rows_that_can_never_be_written_are_dropped() {
        let recorder = StatsRecorder::new(Uuid::nil());
        let past = current_minute() - TimeDelta::minutes(1);
        let pending = |changes, written| Pending { totals: empty_totals(), changes, written };
        recorder.lock().extend([
            (("written".to_owned(), past), pending(2, 2)),
            (("changed".to_owned(), past), pending(3, 2)),
            ((crate::observability::UNKNOWN_TENANT.to_owned(), past), pending(1, 0)),
        ]);

        let taken = recorder.take_changed();
        assert_eq!(tenants(&taken), ["changed"]);
        recorder.acknowledge(&taken);

        assert!(recorder.take_changed().is_empty());
        assert!(recorder.lock().is_empty(), "nothing of a past minute is kept once written");
    }

    #[test]
    fn a_row_counted_into_while_its_write_was_in_flight_is_written_again() {
        let recorder = StatsRecorder::new(Uuid::nil());
        recorder.upstream_call("fabrikam");
        recorder.upstream_call("contoso");
        let taken = recorder.take_changed();
        assert_eq!(tenants(&taken), ["contoso", "fabrikam"]);

        recorder.upstream_call("fabrikam");
        recorder.acknowledge(&taken);

        let again = recorder.take_changed();
        assert_eq!(tenants(&again), ["fabrikam"]);
        assert_eq!(again[0].totals.upstream_calls, 2, "the running total, not the increment");
    }
}
