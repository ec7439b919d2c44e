//! Schema migrations: refinery owns them (SQL files in the top-level `migrations/`, embedded at build
//! time); they run over our one Postgres driver, sqlx, through refinery's async traits.

use async_trait::async_trait;
use refinery_core::{
    AsyncMigrate, Migration,
    traits::r#async::{AsyncQuery, AsyncTransaction},
};
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Serialises concurrent `migrate` runs from several replicas.
const MIGRATION_LOCK: i64 = 0x6163_7367_775f_6d67; // "acsgw_mg"

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("could not reach Postgres: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery_core::Error),
    #[error("timed out")]
    TimedOut,
    #[error("could not read the applied migrations: {0}")]
    Query(#[source] sqlx::Error),
}

/// Applies every migration not yet applied; returns the versions it applied.
pub async fn run(pool: &PgPool) -> Result<Vec<i64>, MigrateError> {
    let mut conn = pool.acquire().await.map_err(MigrateError::Connect)?.detach();
    conn.execute(sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK))
        .await
        .map_err(MigrateError::Connect)?;
    let mut driver = SqlxDriver(conn);
    let report = embedded::migrations::runner().run_async(&mut driver).await;
    let _ = driver.0.close().await; // closing the session releases the advisory lock
    Ok(report?.applied_migrations().iter().map(|m| i64::from(m.version())).collect())
}

/// Whether the database has every migration this binary knows (for `/readyz`).
pub async fn is_current(pool: &PgPool) -> Result<bool, MigrateError> {
    let latest =
        embedded::migrations::runner().get_migrations().iter().map(Migration::version).max().unwrap_or(0);
    let applied: Option<i32> = sqlx::query_scalar("SELECT max(version) FROM refinery_schema_history")
        .fetch_one(pool)
        .await
        .or_else(|e| match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(None),
            _ => Err(e),
        })
        .map_err(MigrateError::Query)?;
    Ok(i64::from(applied.unwrap_or(0)) >= i64::from(latest))
}

struct SqlxDriver(PgConnection);

#[async_trait]
impl AsyncTransaction for SqlxDriver {
    type Error = sqlx::Error;

    async fn execute(&mut self, queries: &[&str]) -> Result<usize, Self::Error> {
        let mut tx = self.0.begin().await?;
        for query in queries {
            // Migrations are trusted files of this repository, run as simple (multi-statement) queries.
            (&mut *tx).execute(sqlx::raw_sql(query)).await?;
        }
        tx.commit().await?;
        Ok(queries.len())
    }
}

#[async_trait]
impl AsyncQuery<Vec<Migration>> for SqlxDriver {
    async fn query(&mut self, query: &str) -> Result<Vec<Migration>, Self::Error> {
        let rows = (&mut self.0).fetch_all(sqlx::raw_sql(query)).await?;
        rows.iter()
            .map(|row| {
                let applied_on: String = row.try_get(2)?;
                let applied_on = OffsetDateTime::parse(&applied_on, &Rfc3339)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                let checksum: String = row.try_get(3)?;
                let checksum = checksum.parse::<u64>().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                Ok(Migration::applied(row.try_get(0)?, row.try_get(1)?, applied_on, checksum))
            })
            .collect()
    }
}

impl AsyncMigrate for SqlxDriver {}
