//! Statistics on their way to Postgres: a flush of many tenants' minutes is one statement, a flush
//! Postgres did not take is written once it is back (and counted once), and a gateway that stops
//! writes what it counted, or says how many rows it could not.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use gateway::observability::{ExchangeRecord, StatsRecorder, stats::Flushed};
use registry::health::{HealthConfig, RegistryHealth};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::{
    binary::Binary,
    helpers::{private_postgres, spawn_app, spawn_app_on},
    upstreams::{spawn_exchange_app, upstreams},
};

fn exchanged(recorder: &StatsRecorder, tenant: &str, times: usize) {
    for _ in 0..times {
        let record =
            ExchangeRecord { tenant, outcome: "ok", duration: Duration::from_millis(3), cache_hit: false };
        recorder.exchange(&record);
    }
}

/// Every exchange of `slug` in Postgres, summed over outcomes, minutes and replicas.
async fn exchanges_stored(pool: &PgPool, slug: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(count.value::bigint), 0)::bigint
         FROM exchange_stats s JOIN tenants t ON t.id = s.tenant_id, jsonb_each_text(s.outcomes) count
         WHERE t.slug = $1",
    )
    .bind(slug)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Counts the INSERT statements on `exchange_stats` from now on, in `statements_seen`.
async fn count_statements(pool: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE statements_seen (at timestamptz NOT NULL DEFAULT clock_timestamp());
         CREATE FUNCTION count_statement() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN INSERT INTO statements_seen DEFAULT VALUES; RETURN NULL; END $$;
         CREATE TRIGGER count_statements AFTER INSERT ON exchange_stats
             FOR EACH STATEMENT EXECUTE FUNCTION count_statement();",
    )
    .execute(pool)
    .await
    .unwrap();
}

async fn statements_seen(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM statements_seen").fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn a_flush_of_many_tenants_minutes_is_one_statement_and_only_changed_rows_are_written_again() {
    let app = spawn_app().await;
    let mut slugs = Vec::new();
    for _ in 0..4 {
        slugs.push(app.create_tenant().await.0);
    }
    count_statements(&app.pool).await;
    let health = RegistryHealth::default();
    let recorder = StatsRecorder::new(Uuid::new_v4());
    for (n, slug) in slugs.iter().enumerate() {
        exchanged(&recorder, slug, n + 1);
    }

    let flushed = recorder.flush(&app.pool, &health).await;

    assert_eq!(flushed, Flushed { rows: 4, statements: 1, left: 0 });
    assert_eq!(statements_seen(&app.pool).await, 1);
    for (n, slug) in slugs.iter().enumerate() {
        assert_eq!(exchanges_stored(&app.pool, slug).await, n as i64 + 1, "{slug}");
    }
    assert_eq!(recorder.flush(&app.pool, &health).await, Flushed::default(), "nothing changed");
    exchanged(&recorder, &slugs[0], 1);
    assert_eq!(recorder.flush(&app.pool, &health).await, Flushed { rows: 1, statements: 1, left: 0 });
    assert_eq!(exchanges_stored(&app.pool, &slugs[0]).await, 2, "the running total, written again");
    assert_eq!(statements_seen(&app.pool).await, 2);
}

#[tokio::test]
async fn a_flush_of_more_rows_than_a_statement_takes_is_one_statement_per_chunk() {
    let app = spawn_app().await;
    let mut slugs = Vec::new();
    for _ in 0..5 {
        slugs.push(app.create_tenant().await.0);
    }
    count_statements(&app.pool).await;
    let recorder = StatsRecorder::new(Uuid::new_v4()).with_rows_per_statement(2);
    for slug in &slugs {
        exchanged(&recorder, slug, 1);
    }

    let flushed = recorder.flush(&app.pool, &RegistryHealth::default()).await;

    assert_eq!(flushed, Flushed { rows: 5, statements: 3, left: 0 });
    assert_eq!(statements_seen(&app.pool).await, 3);
    for slug in &slugs {
        assert_eq!(exchanges_stored(&app.pool, slug).await, 1, "{slug}");
    }

    // The last flush of another replica, whose statements run side by side.
    let stopping = StatsRecorder::new(Uuid::new_v4()).with_rows_per_statement(2);
    for slug in &slugs {
        exchanged(&stopping, slug, 1);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let flushed = stopping.flush_before_exit(&app.pool, deadline).await;
    assert_eq!(flushed, Flushed { rows: 5, statements: 3, left: 0 });
    assert_eq!(statements_seen(&app.pool).await, 6);
    for slug in &slugs {
        assert_eq!(exchanges_stored(&app.pool, slug).await, 2, "{slug}: one exchange on each replica");
    }
}

#[tokio::test]
async fn a_flush_postgres_did_not_take_is_kept_and_written_exactly_once_when_it_is_back() {
    let (pg, url) = private_postgres().await;
    let app = spawn_app_on(&url, &[]).await.with_admin_key("test-operator").await;
    let (slug, _) = app.create_tenant().await;
    app.stop().await;
    let pool = PgPool::connect(&url).await.unwrap();
    let health = RegistryHealth::new(HealthConfig {
        request_timeout: Duration::from_millis(300),
        probe_interval: Duration::ZERO,
        ..HealthConfig::default()
    });
    let recorder = StatsRecorder::new(Uuid::new_v4());
    exchanged(&recorder, &slug, 3);

    pg.server().freeze().await.unwrap();
    let failed = recorder.flush(&pool, &health).await;
    assert_eq!(failed, Flushed { rows: 0, statements: 0, left: 1 });
    pg.server().thaw().await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while recorder.flush(&pool, &health).await.left > 0 {
        assert!(Instant::now() < deadline, "the kept rows are never written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(exchanges_stored(&pool, &slug).await, 3, "written once, not once per attempt");
    exchanged(&recorder, &slug, 1);
    assert_eq!(recorder.flush(&pool, &health).await.left, 0);
    assert_eq!(exchanges_stored(&pool, &slug).await, 4);
}

/// The gateway binary, its statistics logged at info.
async fn serve(database_url: &str, authority_host: &str) -> Binary {
    let settings = [
        ("ACSGW_USER_EXCHANGES_PER_MINUTE", "1000000"),
        // The first flush runs at start; every later row waits for the stop.
        ("ACSGW_STATS_FLUSH_SECONDS", "3600"),
        ("ACSGW_SHUTDOWN_TIMEOUT_SECONDS", "5"),
        ("RUST_LOG", "warn,gateway::observability::stats=info"),
    ];
    Binary::serve(database_url, authority_host, &settings).await
}

/// Stops `gateway`, which must exit successfully, and returns every JSON log line it wrote.
async fn stop(gateway: Binary) -> Vec<Value> {
    let exit = gateway.stop().await;
    assert!(exit.status.success(), "exit status {:?}", exit.status);
    exit.json()
}

/// A field of a JSON log line, whether the event's fields are nested under `fields` or flattened.
fn field<'a>(line: &'a Value, name: &str) -> &'a Value {
    line.get("fields").and_then(|fields| fields.get(name)).unwrap_or(&line[name])
}

fn line_saying<'a>(lines: &'a [Value], message: &str) -> Option<&'a Value> {
    lines.iter().find(|line| field(line, "message") == message)
}

#[tokio::test]
async fn a_gateway_stopped_under_load_writes_every_exchange_it_answered() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let gateway = Arc::new(serve(&app.database_url, up.issuer.base_url()).await);
    let answered = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (gateway, answered, slug, a1) = (gateway.clone(), answered.clone(), slug.clone(), up.a1());
        clients.push(tokio::spawn(async move {
            let client = crate::helpers::http_client();
            // Until the gateway refuses: every answer, whatever its status, is one exchange counted.
            while gateway.exchange(&client, &slug, &a1).send().await.is_ok() {
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered.load(Ordering::SeqCst) < 50 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    gateway.terminate();
    for client in clients {
        client.await.unwrap();
    }
    let logs = stop(Arc::into_inner(gateway).expect("the clients are done")).await;

    let answered = answered.load(Ordering::SeqCst);
    assert_eq!(exchanges_stored(&app.pool, &slug).await, answered as i64, "answered {answered}");
    let written = line_saying(&logs, "exchange statistics written before exit");
    let written = written.unwrap_or_else(|| panic!("no final flush line in {logs:?}"));
    let rows = field(written, "rows").as_u64();
    assert!(rows.is_some_and(|rows| rows == 1 || rows == 2), "one tenant, one minute (or two): {written}");
}

#[tokio::test]
async fn a_gateway_whose_postgres_hangs_at_shutdown_stops_and_says_how_many_rows_were_not_written() {
    let up = upstreams().await;
    let (pg, url) = private_postgres().await;
    let app = spawn_app_on(&url, &[("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url())])
        .await
        .with_admin_key("test-operator")
        .await;
    let slugs = [
        app.create_exchange_tenant(&up, &json!({})).await,
        app.create_exchange_tenant(&up, &json!({})).await,
    ];
    app.stop().await;
    let gateway = serve(&url, up.issuer.base_url()).await;
    let client = crate::helpers::http_client();
    for slug in &slugs {
        let response = gateway.exchange(&client, slug, &up.a1()).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }

    pg.server().freeze().await.unwrap();
    let logs = stop(gateway).await;
    pg.server().thaw().await.unwrap();

    let lost =
        line_saying(&logs, "exchange statistics could not all be written before exit; the rest are lost");
    let lost = lost.unwrap_or_else(|| panic!("no warning of the rows not written in {logs:?}"));
    assert_eq!(field(lost, "level"), "WARN");
    assert_eq!((field(lost, "rows"), field(lost, "rows_not_written")), (&json!(0), &json!(2)), "{lost}");
}
