//! The read side of the statistics: a tenant's last hour and day, summed over every replica's rows.

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use registry::stats::MinuteTotals;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use super::LATENCY_BOUNDS_MS;

/// One window of a tenant's statistics, summed across replicas.
#[derive(Debug, Default, Serialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsWindow {
    /// Exchanges by outcome: `ok` or the error code.
    #[schema(value_type = Object)]
    pub exchanges: BTreeMap<String, i64>,
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
}
