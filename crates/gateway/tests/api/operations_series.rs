//! What each tenant costs in `/metrics`: few series, however many tenants there are, and none once
//! it is deleted; and the per-tenant count of slow exchanges that stands in for latency per tenant.

use std::time::Duration;

use devstack::emulator::Faults;
use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::{
    helpers::{APP_ID, TestApp},
    operations::{sample, scrape},
    upstreams::{USER_ID, Upstreams, spawn_exchange_app},
};

/// The samples labelled with `tenant`.
fn series_of<'t>(text: &'t str, tenant: &str) -> Vec<&'t str> {
    let label = format!("tenant=\"{tenant}\"");
    text.lines().filter(|line| !line.starts_with('#') && line.contains(&label)).collect()
}

/// The samples labelled with no tenant at all.
fn series_without_tenant(text: &str) -> usize {
    text.lines().filter(|line| !line.starts_with('#') && !line.contains("tenant=\"")).count()
}

/// A tenant of its own Entra tenant, and a good A1 of that Entra tenant.
async fn tenant_with_own_entra(app: &TestApp, up: &Upstreams) -> (String, String) {
    let entra = Uuid::new_v4().to_string();
    let slug = app.create_exchange_tenant(up, &json!({"entra": {"tenantId": entra}})).await;
    let a1 = up.mint(&devstack::issuer::MintRequest::new(entra, USER_ID, APP_ID));
    (slug, a1)
}

/// Each tenant exchanges twice (an ACS call, then a cache hit), a few tenants at a time.
async fn exchange_twice_each(app: &TestApp, tenants: &[(String, String)]) {
    for batch in tenants.chunks(8) {
        let mut exchanges = tokio::task::JoinSet::new();
        for (slug, a1) in batch {
            let url = app.url(&format!("/v1/tenants/{slug}/token/teams"));
            let (client, body) =
                (app.client.clone(), json!({"token": a1, "appId": APP_ID, "userId": USER_ID}));
            exchanges.spawn(async move {
                for _ in 0..2 {
                    let response = client.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
                }
            });
        }
        while let Some(done) = exchanges.join_next().await {
            done.unwrap();
        }
    }
}

#[tokio::test]
async fn two_hundred_tenants_whose_exchanges_succeed_cost_two_series_each_and_nothing_else_grows() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let mut tenants = Vec::new();
    for _ in 0..200 {
        tenants.push(tenant_with_own_entra(&app, &up).await);
    }
    exchange_twice_each(&app, &tenants[..10]).await;
    let early = scrape(&app.url("/metrics")).await;
    exchange_twice_each(&app, &tenants[10..]).await;

    let text = scrape(&app.url("/metrics")).await;
    for (slug, _) in &tenants {
        let requests = format!("acsgw_exchange_requests_total{{outcome=\"ok\",tenant=\"{slug}\"}} 2");
        let calls = format!("acsgw_upstream_requests_total{{status=\"200\",tenant=\"{slug}\"}} 1");
        assert_eq!(series_of(&text, slug), [requests, calls], "{slug}");
    }
    assert_eq!(
        series_without_tenant(&text),
        series_without_tenant(&early),
        "latency, cache hits and signing keys are not per tenant or per Entra authority:\n{text}"
    );
    assert_eq!(sample(&text, "acsgw_exchange_cache_hits_total", &[]), Some(200.0));
}

#[tokio::test]
async fn deleting_one_tenant_removes_every_series_of_its_own_and_none_of_another() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let (kept, gone) = (
        app.create_exchange_tenant(&up, &json!({})).await,
        app.create_exchange_tenant(&up, &json!({})).await,
    );
    for slug in [&kept, &gone] {
        assert_eq!(app.exchange(slug, &up.a1(), None).await.status(), StatusCode::OK);
        let refused = app.exchange(slug, &up.a1_with(json!({"aud": "api://nope"})), None).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let before = scrape(&app.url("/metrics")).await;
    // ok and invalid_token exchanges, the refusal's reason, the call to ACS.
    assert_eq!(series_of(&before, &gone).len(), 4, "{before}");

    let deleted = app.admin(Method::DELETE, &format!("/admin/v1/tenants/{gone}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let after = loop {
        let text = scrape(&app.url("/metrics")).await;
        if series_of(&text, &gone).is_empty() {
            break text;
        }
        assert!(tokio::time::Instant::now() < deadline, "the deleted tenant's series remain:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(series_of(&after, &kept), series_of(&before, &kept));
}

#[tokio::test]
async fn exchanges_slower_than_the_threshold_are_counted_for_their_tenant() {
    let (app, up) = spawn_exchange_app(&[("ACSGW_SLOW_EXCHANGE_MS", "50")]).await;
    let (slow, other) = (
        app.create_exchange_tenant(&up, &json!({})).await,
        app.create_exchange_tenant(&up, &json!({})).await,
    );
    let counted = |text: &str, slug: &str| sample(text, "acsgw_exchange_slow_total", &[("tenant", slug)]);
    // ACS answers each exchange after 100 ms: no exchange that calls it can take less.
    up.set_faults(Faults { latency_ms: 100, ..Faults::default() });
    for uti in ["one", "two"] {
        let response = app.exchange(&slow, &up.a1_with(json!({"uti": uti})), None).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let text = scrape(&app.url("/metrics")).await;
    assert_eq!(counted(&text, &slow), Some(2.0), "{text}");
    assert_eq!(counted(&text, &other), None, "a tenant without exchanges has no series");
    assert!(
        sample(&text, "acsgw_exchange_duration_seconds_count", &[("result", "miss")]) >= Some(2.0),
        "and the exchanges are in the latency histogram of all tenants"
    );
}

#[tokio::test]
async fn metrics_are_gzipped_for_a_scraper_that_accepts_it() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    let url = app.url("/metrics");
    let response = app.client.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let body = response.bytes().await.unwrap();
    assert_eq!(body[..2], [0x1f, 0x8b], "a gzip stream");
    let plain = scrape(&url).await;
    assert!(body.len() < plain.len(), "{} compressed, {} plain", body.len(), plain.len());
}
