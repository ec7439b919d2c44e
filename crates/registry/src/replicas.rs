//! Replica heartbeats: how many gateways share the cluster right now.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::RegistryError;

/// Records that `replica` is alive and returns how many replicas were seen within `live_within`
/// (itself included), removing rows long dead.
pub async fn beat(
    pool: &PgPool,
    replica: Uuid,
    hostname: &str,
    live_within: Duration,
) -> Result<u32, RegistryError> {
    let window = live_within.as_secs_f64();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO replica_heartbeats (replica_id, hostname) VALUES ($1, $2)
         ON CONFLICT (replica_id) DO UPDATE SET last_seen = now()",
    )
    .bind(replica)
    .bind(hostname)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM replica_heartbeats WHERE last_seen < now() - make_interval(secs => $1 * 10)")
        .bind(window)
        .execute(&mut *tx)
        .await?;
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM replica_heartbeats WHERE last_seen >= now() - make_interval(secs => $1)",
    )
    .bind(window)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(u32::try_from(live).unwrap_or(u32::MAX).max(1))
}

/// Removes `replica` at shutdown, so the others take over its share at once.
pub async fn leave(pool: &PgPool, replica: Uuid) -> Result<(), RegistryError> {
    sqlx::query("DELETE FROM replica_heartbeats WHERE replica_id = $1").bind(replica).execute(pool).await?;
    Ok(())
}
