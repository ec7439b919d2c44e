//! Per-minute statistics rows: a batch is one statement, a batch sent again counts nothing twice,
//! and an older snapshot never replaces a newer one.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use registry::{
    domain::TenantSlug,
    stats::{MinuteRow, MinuteTotals, write_minutes},
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{actor, new_tenant, slug, store};

fn minute(m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, m, 0).unwrap()
}

fn totals(ok: i64, upstream_calls: i64) -> MinuteTotals {
    MinuteTotals {
        outcomes: BTreeMap::from([("ok".to_owned(), ok)]),
        cache_hits: 0,
        upstream_calls,
        latency_buckets: vec![ok, 0, 0],
    }
}

/// The tenants, created, and a pool on their database.
async fn tenants(slugs: &[&str]) -> (Vec<TenantSlug>, PgPool) {
    let (store, pool) = store().await;
    for value in slugs {
        store.create(new_tenant(value), &actor()).await.unwrap();
    }
    (slugs.iter().map(|value| slug(value)).collect(), pool)
}

/// `ok` of the row of `tenant` at `at`, if there is one.
async fn ok_count(pool: &PgPool, tenant: &TenantSlug, at: DateTime<Utc>) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT (s.outcomes ->> 'ok')::bigint FROM exchange_stats s JOIN tenants t ON t.id = s.tenant_id
         WHERE t.slug = $1 AND s.minute = $2",
    )
    .bind(tenant.as_str())
    .bind(at)
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_batch_of_many_tenants_minutes_is_written_by_one_statement_in_one_transaction() {
    let (slugs, pool) = tenants(&["fabrikam", "contoso", "northwind"]).await;
    sqlx::raw_sql(
        "CREATE TABLE statements_seen (at timestamptz NOT NULL DEFAULT clock_timestamp());
         CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN INSERT INTO statements_seen DEFAULT VALUES; RETURN NULL; END $$;
         CREATE TRIGGER count_statements AFTER INSERT ON exchange_stats
             FOR EACH STATEMENT EXECUTE FUNCTION count_statement();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let counted: Vec<MinuteTotals> = (1..=6).map(|n| totals(n, 1)).collect();
    let rows: Vec<MinuteRow<'_>> = slugs
        .iter()
        .flat_map(|tenant| [minute(1), minute(2)].map(|at| (tenant, at)))
        .zip(&counted)
        .map(|((tenant, minute), totals)| MinuteRow { tenant, minute, totals })
        .collect();

    let written = write_minutes(&pool, Uuid::new_v4(), &rows).await.unwrap();

    assert_eq!(written, 6);
    let statements: i64 =
        sqlx::query_scalar("SELECT count(*) FROM statements_seen").fetch_one(&pool).await.unwrap();
    assert_eq!(statements, 1, "one INSERT statement for the whole batch");
    let transactions: i64 = sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM exchange_stats")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(transactions, 1, "every row written by the same transaction");
    assert_eq!(ok_count(&pool, &slugs[0], minute(1)).await, Some(1));
    assert_eq!(ok_count(&pool, &slugs[2], minute(2)).await, Some(6));
    let stored: (Vec<i64>, i64) = sqlx::query_as(
        "SELECT s.latency_buckets, s.upstream_calls FROM exchange_stats s JOIN tenants t ON t.id = s.tenant_id
         WHERE t.slug = 'contoso' AND s.minute = $1",
    )
    .bind(minute(2))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, (vec![4, 0, 0], 1), "the buckets and counts as given");
}

#[tokio::test]
async fn a_batch_sent_again_counts_nothing_twice_and_older_totals_never_replace_newer_ones() {
    let (slugs, pool) = tenants(&["fabrikam"]).await;
    let replica = Uuid::new_v4();
    // Three snapshots of one running total: an upstream call, then two slower exchanges.
    let first = totals(3, 1);
    let second = totals(3, 2);
    let third = MinuteTotals { latency_buckets: vec![3, 2, 0], ..totals(5, 2) };
    let row = |totals| MinuteRow { tenant: &slugs[0], minute: minute(7), totals };

    write_minutes(&pool, replica, &[row(&first)]).await.unwrap();
    write_minutes(&pool, replica, &[row(&first)]).await.unwrap();
    assert_eq!(ok_count(&pool, &slugs[0], minute(7)).await, Some(3), "the same totals, not twice them");

    write_minutes(&pool, replica, &[row(&second)]).await.unwrap();
    write_minutes(&pool, replica, &[row(&third)]).await.unwrap();
    // Writes that timed out on a hung Postgres and run late.
    for late in [&second, &first] {
        assert_eq!(write_minutes(&pool, replica, &[row(late)]).await.unwrap(), 0);
    }
    let stored: (Vec<i64>, i64) =
        sqlx::query_as("SELECT latency_buckets, upstream_calls FROM exchange_stats")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, (vec![3, 2, 0], 2));
    assert_eq!(ok_count(&pool, &slugs[0], minute(7)).await, Some(5));

    let other_replica = write_minutes(&pool, Uuid::new_v4(), &[row(&first)]).await.unwrap();
    assert_eq!(other_replica, 1, "another replica's totals are rows of their own");
}

#[tokio::test]
async fn rows_of_tenants_that_do_not_exist_are_skipped_and_the_others_written() {
    let (slugs, pool) = tenants(&["fabrikam"]).await;
    let gone = slug("deleted-meanwhile");
    let counted = totals(2, 0);
    let rows = [
        MinuteRow { tenant: &gone, minute: minute(3), totals: &counted },
        MinuteRow { tenant: &slugs[0], minute: minute(3), totals: &counted },
    ];

    let written = write_minutes(&pool, Uuid::new_v4(), &rows).await.unwrap();

    assert_eq!(written, 1);
    assert_eq!(ok_count(&pool, &slugs[0], minute(3)).await, Some(2));
    assert_eq!(write_minutes(&pool, Uuid::new_v4(), &[]).await.unwrap(), 0, "nothing to write, no statement");
}
