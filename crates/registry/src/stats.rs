//! Per-minute exchange statistics rows (see migration V3): written by each replica in batches,
//! read summed across replicas.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
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

/// One row of a batch for [`write_minutes`]: a tenant's totals for one minute, tenant first.
#[derive(Debug, Clone, Copy)]
pub struct MinuteRow<'a> {
    pub tenant: &'a TenantSlug,
    pub minute: DateTime<Utc>,
    pub totals: &'a MinuteTotals,
}

/// A row as the statement reads it back with `jsonb_to_recordset`.
#[derive(Serialize)]
struct RowDocument<'a> {
    slug: &'a str,
    minute: DateTime<Utc>,
    outcomes: &'a BTreeMap<String, i64>,
    cache_hits: i64,
    upstream_calls: i64,
    latency_buckets: &'a [i64],
}

impl<'a> From<&MinuteRow<'a>> for RowDocument<'a> {
    fn from(row: &MinuteRow<'a>) -> Self {
        Self {
            slug: row.tenant.as_str(),
            minute: row.minute,
            outcomes: &row.totals.outcomes,
            cache_hits: row.totals.cache_hits,
            upstream_calls: row.totals.upstream_calls,
            latency_buckets: &row.totals.latency_buckets,
        }
    }
}

/// Replaces this replica's totals for every row of the batch, in one statement (so one transaction):
/// each slug is resolved to its tenant in the same statement, and the rows of tenants that no longer
/// exist are skipped. Writing the same totals twice changes nothing, which is what makes a failed
/// batch safe to send again. Returns how many rows were written.
///
/// A row is never set back to older totals: a write that timed out on a hung Postgres may still run
/// after a newer one, and must not undo it. A replica's totals for a minute only grow (every exchange
/// adds to one latency bucket, every upstream call to `upstream_calls`), so any two of its snapshots
/// are ordered bucket by bucket, and comparing (buckets, upstream calls) in lexicographic order,
/// which Postgres does cheaply, tells the older from the newer.
pub async fn write_minutes(
    pool: &PgPool,
    replica: Uuid,
    rows: &[MinuteRow<'_>],
) -> Result<u64, RegistryError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let document: Vec<RowDocument<'_>> = rows.iter().map(RowDocument::from).collect();
    let done = sqlx::query(
        "INSERT INTO exchange_stats AS stats
             (tenant_id, minute, replica_id, outcomes, cache_hits, upstream_calls, latency_buckets)
         SELECT tenants.id, batch.minute, $2, batch.outcomes, batch.cache_hits, batch.upstream_calls,
                batch.latency_buckets
         FROM jsonb_to_recordset($1) AS batch(slug text, minute timestamptz, outcomes jsonb,
                                              cache_hits bigint, upstream_calls bigint, latency_buckets bigint[])
         JOIN tenants ON tenants.slug = batch.slug
         ON CONFLICT (tenant_id, minute, replica_id) DO UPDATE SET
             outcomes = excluded.outcomes, cache_hits = excluded.cache_hits,
             upstream_calls = excluded.upstream_calls, latency_buckets = excluded.latency_buckets
         WHERE (stats.latency_buckets, stats.upstream_calls)
               <= (excluded.latency_buckets, excluded.upstream_calls)",
    )
    .bind(Json(&document))
    .bind(replica)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
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
