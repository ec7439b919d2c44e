//! Postgres stopped (`pg_ctl stop -m fast`) or hung (every process SIGSTOPped) under steady exchange
//! traffic, on a private cluster per test: a known tenant keeps exchanging from memory, an unknown
//! one and admin requests get a fast 503 with Retry-After, and everything recovers by itself.

use std::time::{Duration, Instant};

use local_pg::TempCluster;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_problem, private_postgres, spawn_app_on},
    operations::{sample, scrape},
    upstreams::{Upstreams, upstreams},
};

/// How long Postgres is away: a managed failover's minute, unless `ACSGW_TEST_OUTAGE_SECONDS` says
/// otherwise (shorter while working on this file).
fn outage() -> Duration {
    let seconds = std::env::var("ACSGW_TEST_OUTAGE_SECONDS").ok().and_then(|s| s.parse().ok());
    Duration::from_secs(seconds.unwrap_or(60))
}

#[derive(Debug, Clone, Copy)]
enum Outage {
    Stopped,
    Hung,
}

/// A gateway on its own cluster, wired to fresh upstreams, with a tenant it has exchanged for.
struct Scene {
    app: TestApp,
    up: Upstreams,
    pg: TempCluster,
    known: String,
}

async fn scene(overrides: &[(&str, &str)]) -> Scene {
    let up = upstreams().await;
    let (pg, url) = private_postgres().await;
    let mut settings = vec![
        ("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url()),
        // Records expire within the outage, so it is the stale-if-error path that serves them.
        ("ACSGW_TENANT_CACHE_TTL_SECONDS", "1"),
        ("ACSGW_USER_EXCHANGES_PER_MINUTE", "1000000"),
        // The production budgets: these tests are about them.
        ("ACSGW_DB_LOOKUP_TIMEOUT_MS", "500"),
        ("ACSGW_DB_REQUEST_TIMEOUT_MS", "1500"),
    ];
    settings.extend_from_slice(overrides);
    let app = spawn_app_on(&url, &settings).await.with_admin_key("test-operator").await;
    let known = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&known, &up.a1(), None).await.status(), StatusCode::OK);
    assert_eq!(ready_status(&app).await, (StatusCode::OK, "ready".to_owned()));
    // A write acknowledged before the outage, to be found after it.
    let mut changes = app.tenant_cache.subscribe();
    let acknowledged = app.patch_tenant(&known, Some("\"1\""), &json!({"displayName": "Acknowledged"})).await;
    assert_eq!(acknowledged.status(), StatusCode::OK);
    // Once this replica has heard of the change, it loads the new record, as traffic would.
    let heard = tokio::time::timeout(Duration::from_secs(5), changes.recv()).await;
    assert_eq!(heard.expect("the change is announced").unwrap().slug.as_str(), known);
    let slug = registry::domain::TenantSlug::parse(&known).unwrap();
    let loaded = app.tenant_cache.get(&slug).await.unwrap().map(|tenant| tenant.version);
    assert_eq!(loaded, Some(2));
    Scene { app, up, pg, known }
}

impl Scene {
    async fn begin(&mut self, outage: Outage) {
        match outage {
            Outage::Stopped => self.pg.server().stop().await.unwrap(),
            Outage::Hung => self.pg.server().freeze().await.unwrap(),
        }
    }

    async fn end(&mut self, outage: Outage) {
        match outage {
            Outage::Stopped => self.pg.restart().await.unwrap(),
            Outage::Hung => self.pg.server().thaw().await.unwrap(),
        }
    }

    /// An exchange for the known tenant with a fresh A1 (so the exchange cache does not answer).
    async fn exchange_known(&self, n: u64) -> StatusCode {
        let a1 = self.up.a1_with(json!({"uti": format!("outage-{n}")}));
        self.app.exchange(&self.known, &a1, None).await.status()
    }

    async fn patch_known(&self) -> Response {
        self.app.patch_tenant(&self.known, Some("*"), &json!({"displayName": "During the outage"})).await
    }
}

async fn ready_status(app: &TestApp) -> (StatusCode, String) {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (status, body["status"].as_str().or(body["code"].as_str()).unwrap_or_default().to_owned())
}

/// Runs `call` and says how long it took.
async fn timed<T>(call: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = call.await;
    (answer, started.elapsed())
}

/// What a client sees while Postgres is away: fast 503s for what needs Postgres.
async fn assert_fails_fast(scene: &Scene) {
    let (unknown, took) = timed(scene.app.exchange("never-loaded-here", &scene.up.a1(), None)).await;
    assert!(took < Duration::from_secs(1), "an unknown tenant waited {took:?}");
    assert!(unknown.headers().contains_key("retry-after"));
    assert_problem(unknown, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;

    let (write, took) = timed(scene.patch_known()).await;
    assert!(took < Duration::from_secs(2), "an admin write waited {took:?}");
    assert_eq!(write.headers()["retry-after"], "5");
    assert_problem(write, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;

    let (read, took) = timed(scene.app.get_tenant(&scene.known)).await;
    assert!(took < Duration::from_secs(2), "an admin read waited {took:?}");
    assert_problem(read, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;

    let (ready, took) = timed(ready_status(&scene.app)).await;
    assert!(took < Duration::from_secs(2), "/readyz waited {took:?}");
    assert_eq!(ready, (StatusCode::OK, "degraded".to_owned()), "a replica that serves stays in rotation");

    let metrics = scrape(&scene.app.url("/metrics")).await;
    let down_for = sample(&metrics, "acsgw_registry_unreachable_seconds", &[]);
    assert!(down_for.is_some_and(|seconds| seconds >= 1.0), "operations see the outage: {down_for:?}");
}

/// Polls until an admin write lands again; says how long after Postgres came back it took.
async fn assert_recovers_within_five_seconds(scene: &Scene) {
    let back = Instant::now();
    loop {
        let response = scene.app.get_tenant(&scene.known).await;
        if response.status() == StatusCode::OK {
            // The write acknowledged before the outage is there; none refused during it landed.
            let tenant: Value = response.json().await.unwrap();
            assert_eq!(
                (tenant["displayName"].as_str(), tenant["version"].as_i64()),
                (Some("Acknowledged"), Some(2))
            );
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(5), "admin reads still fail: {}", response.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    loop {
        let response = scene.patch_known().await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(5), "admin writes still fail: {}", response.status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let unknown = scene.app.exchange("never-loaded-here", &scene.up.a1(), None).await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "tenant_not_found").await;
    assert_eq!(scene.exchange_known(u64::MAX).await, StatusCode::OK);
    assert_eq!(ready_status(&scene.app).await, (StatusCode::OK, "ready".to_owned()));
    let metrics = scrape(&scene.app.url("/metrics")).await;
    assert_eq!(sample(&metrics, "acsgw_registry_unreachable_seconds", &[]), Some(0.0));
    assert!(back.elapsed() < Duration::from_secs(5), "recovered only after {:?}", back.elapsed());
}

/// The outage, with steady traffic for the known tenant throughout, and the fast-failure checks at
/// its start and again once every cached record has outlived its TTL.
async fn a_known_tenant_survives(outage: Outage) {
    let mut scene = scene(&[]).await;
    scene.begin(outage).await;
    let until = Instant::now() + self::outage();
    let (mut ok, mut total) = (0_u64, 0_u64);
    let mut checked = 0;
    while Instant::now() < until {
        if checked == 0 || (checked == 1 && Instant::now() + self::outage() / 2 > until) {
            assert_fails_fast(&scene).await;
            checked += 1;
        }
        total += 1;
        if scene.exchange_known(total).await == StatusCode::OK {
            ok += 1;
        }
        // Steady traffic: about twenty exchanges a second.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(checked, 2, "checked at the start and halfway");
    assert!(total >= 20, "only {total} exchanges were tried");
    assert!(ok * 100 >= total * 99, "{ok} of {total} exchanges succeeded during the outage ({outage:?})");
    let metrics = scrape(&scene.app.url("/metrics")).await;
    let stale = sample(&metrics, "acsgw_tenant_cache_events_total", &[("event", "stale")]);
    assert!(stale.is_some_and(|served| served >= 1.0), "records past their TTL were served stale: {stale:?}");
    let mut sessions = scene.app.tenant_cache.listener_sessions();
    sessions.borrow_and_update();
    scene.end(outage).await;
    assert_recovers_within_five_seconds(&scene).await;
    // Even a listener whose connection survived (the hang) listens again and confirms its records,
    // since a connection can die without a word while Postgres is away.
    let listening = tokio::time::timeout(Duration::from_secs(5), sessions.changed()).await;
    assert!(listening.is_ok(), "the change listener listens again after the outage ({outage:?})");
}

#[tokio::test]
async fn a_known_tenant_keeps_exchanging_while_postgres_is_stopped_and_all_recovers_when_it_is_back() {
    a_known_tenant_survives(Outage::Stopped).await;
}

#[tokio::test]
async fn a_known_tenant_keeps_exchanging_while_postgres_hangs_and_all_recovers_when_it_answers() {
    a_known_tenant_survives(Outage::Hung).await;
}

#[tokio::test]
async fn a_record_older_than_the_staleness_bound_is_not_served() {
    let mut scene = scene(&[("ACSGW_TENANT_STALE_IF_ERROR_SECONDS", "2")]).await;
    scene.begin(Outage::Stopped).await;
    assert_eq!(scene.exchange_known(1).await, StatusCode::OK, "served from memory at first");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 1;
    let refused = loop {
        n += 1;
        let a1 = scene.up.a1_with(json!({"uti": format!("bound-{n}")}));
        let response = scene.app.exchange(&scene.known, &a1, None).await;
        if response.status() != StatusCode::OK {
            break response;
        }
        assert!(Instant::now() < deadline, "a record past its bound is still served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    scene.end(Outage::Stopped).await;
    assert_recovers_within_five_seconds(&scene).await;
}
