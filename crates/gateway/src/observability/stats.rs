//! Per-tenant statistics that survive restarts and add up across replicas: each replica counts in
//! memory (off the hot path's I/O) and writes its running per-minute totals to Postgres every few
//! seconds; the stats endpoint sums every replica's rows for the last hour and day. Rows older than
//! [`RETENTION`] are pruned.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use registry::{
    domain::TenantSlug,
    health::{Budget, RegistryHealth},
    stats::MinuteTotals,
};
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ExchangeRecord;

/// How long per-minute rows are kept.
pub const RETENTION: Duration = Duration::from_secs(2 * 24 * 3600);

/// Upper bounds (milliseconds) of the latency buckets; the last bucket is everything above.
pub const LATENCY_BOUNDS_MS: &[u64] =
    &[5, 10, 25, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000];

pub struct StatsRecorder {
    replica: Uuid,
    minutes: Mutex<HashMap<(String, DateTime<Utc>), MinuteTotals>>,
}

fn current_minute() -> DateTime<Utc> {
    Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap_or_else(|_| Utc::now())
}

fn empty_totals() -> MinuteTotals {
    MinuteTotals { latency_buckets: vec![0; LATENCY_BOUNDS_MS.len() + 1], ..MinuteTotals::default() }
}

impl StatsRecorder {
    pub fn new(replica: Uuid) -> Self {
        Self { replica, minutes: Mutex::new(HashMap::new()) }
    }

    fn with_minute(&self, tenant: &str, update: impl FnOnce(&mut MinuteTotals)) {
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        update(minutes.entry((tenant.to_owned(), current_minute())).or_insert_with(empty_totals));
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

    /// Writes every minute's running totals; minutes that are over and written are forgotten.
    /// Writes what was counted; what cannot be written now (Postgres unreachable) is kept for the next
    /// flush, and once Postgres is known to be down the remaining tenants fail at once.
    pub async fn flush(&self, pool: &PgPool, health: &RegistryHealth) {
        let snapshot: Vec<((String, DateTime<Utc>), MinuteTotals)> = {
            let minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
            minutes.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let now = current_minute();
        for ((tenant, minute), totals) in snapshot {
            let Ok(slug) = TenantSlug::parse(&tenant) else { continue };
            let write = registry::stats::write_minute(pool, &slug, minute, self.replica, &totals);
            match health.guard(Budget::Request, write).await {
                Ok(()) if minute < now => {
                    let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
                    // Only if nothing was added meanwhile (a late exchange of that minute).
                    if minutes.get(&(tenant.clone(), minute)) == Some(&totals) {
                        minutes.remove(&(tenant, minute));
                    }
                }
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(%error, tenant, "could not write exchange statistics; will retry");
                }
            }
        }
    }
}

/// One window of a tenant's statistics, summed across replicas.
#[derive(Debug, Default, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsWindow {
    /// Exchanges by outcome: `ok` or the error code.
    #[schema(value_type = Object)]
    pub exchanges: std::collections::BTreeMap<String, i64>,
    pub total: i64,
    pub cache_hits: i64,
    pub upstream_calls: i64,
    /// Latency percentiles in milliseconds (bucket upper bounds); absent without traffic.
    pub latency_ms: Option<Percentiles>,
}

#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: u64,
    pub p99: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStats {
    pub tenant: String,
    pub last_hour: StatsWindow,
    pub last_day: StatsWindow,
}

impl StatsWindow {
    fn add(&mut self, totals: &MinuteTotals, buckets: &mut [i64]) {
        for (outcome, count) in &totals.outcomes {
            *self.exchanges.entry(outcome.clone()).or_default() += count;
            self.total += count;
        }
        self.cache_hits += totals.cache_hits;
        self.upstream_calls += totals.upstream_calls;
        for (sum, count) in buckets.iter_mut().zip(&totals.latency_buckets) {
            *sum += count;
        }
    }
}

/// The bucket bound under which `q` of the exchanges finished (the last bound for the overflow bucket).
pub fn percentile(buckets: &[i64], q: f64) -> Option<u64> {
    let total: i64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (index, count) in buckets.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return LATENCY_BOUNDS_MS.get(index).or(LATENCY_BOUNDS_MS.last()).copied();
        }
    }
    LATENCY_BOUNDS_MS.last().copied()
}

/// The last hour and day of a tenant, from every replica's rows.
pub async fn tenant_stats(
    pool: &PgPool,
    tenant: Uuid,
    slug: &str,
) -> Result<TenantStats, registry::RegistryError> {
    let now = Utc::now();
    let rows = registry::stats::read_since(pool, tenant, now - TimeDelta::days(1)).await?;
    let hour_ago = now - TimeDelta::hours(1);
    let (mut hour, mut day) = (StatsWindow::default(), StatsWindow::default());
    let (mut hour_buckets, mut day_buckets) =
        (vec![0; LATENCY_BOUNDS_MS.len() + 1], vec![0; LATENCY_BOUNDS_MS.len() + 1]);
    for (minute, totals) in &rows {
        day.add(totals, &mut day_buckets);
        if *minute >= hour_ago - TimeDelta::minutes(1) {
            hour.add(totals, &mut hour_buckets);
        }
    }
    for (window, buckets) in [(&mut hour, &hour_buckets), (&mut day, &day_buckets)] {
        window.latency_ms = percentile(buckets, 0.5)
            .zip(percentile(buckets, 0.99))
            .map(|(p50, p99)| Percentiles { p50, p99 });
    }
    Ok(TenantStats { tenant: slug.to_owned(), last_hour: hour, last_day: day })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_the_bucket_bounds_that_cover_the_rank() {
        let mut buckets = vec![0; LATENCY_BOUNDS_MS.len() + 1];
        buckets[1] = 98; // <= 10 ms
        buckets[7] = 2; // <= 200 ms
        assert_eq!(percentile(&buckets, 0.5), Some(10));
        assert_eq!(percentile(&buckets, 0.99), Some(200));
        assert_eq!(percentile(&[0; 19], 0.5), None);
        let mut slow = vec![0; LATENCY_BOUNDS_MS.len() + 1];
        slow[LATENCY_BOUNDS_MS.len()] = 1;
        assert_eq!(percentile(&slow, 0.99), Some(10000));
    }

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
        let totals = minutes.values().next().unwrap();
        assert_eq!(totals.outcomes["ok"], 2);
        assert_eq!(totals.outcomes["invalid_token"], 1);
        assert_eq!((totals.cache_hits, totals.upstream_calls), (1, 1));
        assert_eq!(totals.latency_buckets[0], 2);
        assert_eq!(totals.latency_buckets[6], 1);
    }
}
