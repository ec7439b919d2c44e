//! Per-minute exchange statistics rows (see migration V3): written by each replica in batches,
//! read summed across replicas.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use crate::{RegistryError, domain::TenantSlug};

/// One replica's running totals for one tenant and minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinuteTotals {
    pub outcomes: BTreeMap<String, i64>,
    pub cache_hits: i64,
    pub upstream_calls: i64,
    pub latency_buckets: Vec<i64>,
}

/// Replaces this replica's totals for `slug` and `minute`; a tenant that no longer exists is skipped.
pub async fn write_minute(
    pool: &PgPool,
    slug: &TenantSlug,
    minute: DateTime<Utc>,
    replica: Uuid,
    totals: &MinuteTotals,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO exchange_stats (tenant_id, minute, replica_id, outcomes, cache_hits, upstream_calls, latency_buckets)
         SELECT id, $2, $3, $4, $5, $6, $7 FROM tenants WHERE slug = $1
         ON CONFLICT (tenant_id, minute, replica_id) DO UPDATE SET
             outcomes = excluded.outcomes, cache_hits = excluded.cache_hits,
             upstream_calls = excluded.upstream_calls, latency_buckets = excluded.latency_buckets",
    )
    .bind(slug.as_str())
    .bind(minute)
    .bind(replica)
    .bind(Json(&totals.outcomes))
    .bind(totals.cache_hits)
    .bind(totals.upstream_calls)
    .bind(&totals.latency_buckets)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every replica's rows for the tenant since `since`, with their minute.
pub async fn read_since(
    pool: &PgPool,
    tenant: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, MinuteTotals)>, RegistryError> {
    type Row = (DateTime<Utc>, Json<BTreeMap<String, i64>>, i64, i64, Vec<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT minute, outcomes, cache_hits, upstream_calls, latency_buckets
         FROM exchange_stats WHERE tenant_id = $1 AND minute >= $2",
    )
    .bind(tenant)
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(minute, outcomes, cache_hits, upstream_calls, latency_buckets)| {
            (minute, MinuteTotals { outcomes: outcomes.0, cache_hits, upstream_calls, latency_buckets })
        })
        .collect())
}

/// Removes rows older than `before`; returns how many.
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, RegistryError> {
    let done = sqlx::query("DELETE FROM exchange_stats WHERE minute < $1").bind(before).execute(pool).await?;
    Ok(done.rows_affected())
}
