//! Metrics and statistics after known traffic.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use devstack::emulator::Faults;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::{assert_problem, spawn_app, spawn_app_without_postgres},
    upstreams::spawn_exchange_app,
};

pub async fn scrape(url: &str) -> String {
    let response = crate::helpers::http_client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of the sample `name{labels}` (labels in the exporter's sorted order), if present.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let rendered: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let series =
        if labels.is_empty() { name.to_owned() } else { format!("{name}{{{}}}", rendered.join(",")) };
    text.lines().find_map(|line| line.strip_prefix(&format!("{series} ")).and_then(|v| v.parse().ok()))
}

#[tokio::test]
async fn metrics_count_exchanges_per_tenant_and_outcome() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let first = app.create_exchange_tenant(&up, &json!({})).await;
    let second = app.create_exchange_tenant(&up, &json!({})).await;
    let a1 = up.a1();
    assert_eq!(app.exchange(&first, &a1, None).await.status(), StatusCode::OK);
    assert_eq!(app.exchange(&first, &a1, None).await.status(), StatusCode::OK);
    assert_eq!(
        app.exchange(&first, &up.a1_with(json!({"aud": "api://nope"})), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.exchange(&second, &up.a1_with(json!({"uti": "b"})), None).await.status(), StatusCode::OK);
    assert_eq!(app.exchange("no-such-tenant", &a1, None).await.status(), StatusCode::NOT_FOUND);

    let text = scrape(&app.url("/metrics")).await;
    let requests = |tenant: &str, outcome: &str| {
        sample(&text, "acsgw_exchange_requests_total", &[("outcome", outcome), ("tenant", tenant)])
    };
    assert_eq!(requests(&first, "ok"), Some(2.0));
    assert_eq!(requests(&first, "invalid_token"), Some(1.0));
    assert_eq!(requests(&second, "ok"), Some(1.0));
    assert_eq!(requests("_unknown", "tenant_not_found"), Some(1.0));
    assert_eq!(requests("no-such-tenant", "tenant_not_found"), None, "invented slugs get no series");
    assert_eq!(sample(&text, "acsgw_exchange_cache_hits_total", &[]), Some(1.0), "for all tenants");
    assert_eq!(
        sample(&text, "acsgw_upstream_requests_total", &[("status", "200"), ("tenant", &first)]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "acsgw_upstream_requests_total", &[("status", "200"), ("tenant", &second)]),
        Some(1.0)
    );
    // Latency for all tenants together, by result.
    let exchanges =
        |result: &str| sample(&text, "acsgw_exchange_duration_seconds_count", &[("result", result)]);
    assert_eq!((exchanges("miss"), exchanges("hit"), exchanges("error")), (Some(2.0), Some(1.0), Some(2.0)));
    assert_eq!(sample(&text, "acsgw_upstream_duration_seconds_count", &[]), Some(2.0));
    assert_eq!(
        sample(&text, "acsgw_signing_key_fetches_total", &[("authority", "common"), ("result", "ok")]),
        Some(2.0),
        "the shared metadata and keys"
    );
    assert_eq!(sample(&text, "acsgw_live_replicas", &[]), Some(1.0));
    assert_eq!(sample(&text, "acsgw_http_requests_in_flight", &[]), Some(1.0), "the scrape itself");
    // The first tenant is loaded by its first exchange and served from the cache to the next two.
    assert!(sample(&text, "acsgw_tenant_cache_events_total", &[("event", "hit")]).unwrap() >= 2.0);
    assert!(
        text.lines().any(|l| l.starts_with("acsgw_signing_key_age_seconds{authority=\"common\"")),
        "{text}"
    );
    assert!(!text.contains(crate::helpers::ENTRA_TENANT), "no series per Entra authority:\n{text}");
    assert_eq!(sample(&text, "acsgw_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), Some(1.0));
    for name in
        ["acsgw_exchange_requests_total", "acsgw_exchange_duration_seconds", "acsgw_upstream_requests_total"]
    {
        assert!(
            text.contains(&format!("# HELP {name} ")) && text.contains(&format!("# TYPE {name} ")),
            "{name} described"
        );
    }
    assert!(
        !text.contains(&a1) && !text.contains(crate::upstreams::USER_ID),
        "no token or user in any label"
    );
}

#[tokio::test]
async fn the_tenants_own_limit_and_acs_credential_refusals_are_counted() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let limited =
        app.create_exchange_tenant(&up, &json!({"limits": {"exchangesPerSecond": 1, "burst": 1}})).await;
    // At once, so that however slow the machine, they meet a bucket of one that refills each second.
    let tokens: Vec<String> = (0..4).map(|n| up.a1_with(json!({"uti": format!("{n}")}))).collect();
    let answers =
        futures_util::future::join_all(tokens.iter().map(|a1| app.exchange(&limited, a1, None))).await;
    let refused = answers.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(refused >= 1, "four at once through a bucket of one");
    let cs =
        format!("endpoint={}/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", up.acs.endpoint());
    let wrong_key = app.create_exchange_tenant(&up, &json!({"acs": {"connectionString": cs}})).await;
    app.exchange(&wrong_key, &up.a1(), None).await;
    let text = scrape(&app.url("/metrics")).await;
    assert_eq!(
        sample(&text, "acsgw_rate_limited_total", &[("tenant", &limited)]),
        Some(f64::from(u8::try_from(refused).unwrap()))
    );
    assert_eq!(sample(&text, "acsgw_acs_credential_rejected_total", &[("tenant", &wrong_key)]), Some(1.0));
    assert_eq!(
        sample(&text, "acsgw_upstream_requests_total", &[("status", "401"), ("tenant", &wrong_key)]),
        Some(1.0)
    );
}

#[tokio::test]
async fn deleting_a_tenant_removes_its_series() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    assert!(scrape(&app.url("/metrics")).await.contains(&format!("tenant=\"{slug}\"")));
    let deleted = app.admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while scrape(&app.url("/metrics")).await.contains(&format!("tenant=\"{slug}\"")) {
        assert!(tokio::time::Instant::now() < deadline, "the deleted tenant's series remain");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Fails the test unless `promtool check metrics` accepts `text`.
fn promtool_check(text: &str) {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{promtool} not found ({e}): install Debian's prometheus package (.ci/test does)")
        });
    use std::io::Write;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn promtool_accepts_the_metrics_output() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    app.exchange(&slug, &up.a1(), None).await;
    app.exchange("no-such-tenant", &up.a1(), None).await;
    promtool_check(&scrape(&app.url("/metrics")).await);
}

/// Every metric of API.md and the gateway's additions.
const METRIC_NAMES: &[&str] = &[
    "acsgw_exchange_requests_total",
    "acsgw_exchange_duration_seconds",
    "acsgw_upstream_requests_total",
    "acsgw_upstream_duration_seconds",
    "acsgw_exchange_cache_hits_total",
    "acsgw_rate_limited_total",
    "acsgw_signing_key_fetches_total",
    "acsgw_tenant_cache_events_total",
    "acsgw_acs_credential_rejected_total",
    "acsgw_http_requests_in_flight",
    "acsgw_signing_key_age_seconds",
    "acsgw_acs_circuit_breaker_state",
    "acsgw_live_replicas",
    "acsgw_registry_unreachable_seconds",
    "acsgw_build_info",
];

#[tokio::test]
async fn every_metric_has_help_and_type_from_the_first_scrape() {
    let app = spawn_app().await;
    let text = scrape(&app.url("/metrics")).await;
    let described = |prefix: &str| -> Vec<String> {
        let names = text.lines().filter_map(|line| line.strip_prefix(prefix));
        names.filter_map(|rest| rest.split(' ').next()).map(str::to_owned).collect()
    };
    let (help, kind) = (described("# HELP "), described("# TYPE "));
    for name in METRIC_NAMES {
        assert!(help.iter().any(|n| n == name), "{name} has no HELP:\n{text}");
        assert!(kind.iter().any(|n| n == name), "{name} has no TYPE:\n{text}");
    }
    assert_eq!(help, kind, "every family has both, in the same order");
    let unique: std::collections::BTreeSet<&String> = help.iter().collect();
    assert_eq!(unique.len(), help.len(), "no family is described twice");
    promtool_check(&text);
}

#[tokio::test]
async fn a_separate_metrics_listener_keeps_metrics_off_the_public_port() {
    let (app, up) = spawn_exchange_app(&[("ACSGW_METRICS_LISTEN", "127.0.0.1:0")]).await;
    let port = app.metrics_port.expect("a metrics port");
    assert!(scrape(&format!("http://127.0.0.1:{port}/metrics")).await.contains("acsgw_live_replicas"));
    assert_problem(
        app.client.get(app.url("/metrics")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    drop(up);
}

#[tokio::test]
async fn invented_slugs_share_one_unknown_series_while_the_registry_is_unreachable() {
    let app = spawn_app_without_postgres(&[]).await;
    let mut exchanges = tokio::task::JoinSet::new();
    for n in 0..4 {
        let (client, url) = (app.client.clone(), app.url(&format!("/v1/tenants/invented-{n}/token/teams")));
        let body =
            json!({"token": "x", "appId": crate::helpers::APP_ID, "userId": crate::upstreams::USER_ID});
        exchanges.spawn(async move { client.post(url).json(&body).send().await.unwrap().status() });
    }
    while let Some(status) = exchanges.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let text = scrape(&app.url("/metrics")).await;
    let unknown = [("outcome", "upstream_unavailable"), ("tenant", "_unknown")];
    assert_eq!(sample(&text, "acsgw_exchange_requests_total", &unknown), Some(4.0), "{text}");
    assert!(!text.contains("invented-"), "no series for a tenant never found:\n{text}");
}

#[tokio::test]
async fn a_malformed_request_counts_under_its_tenant_only_if_the_tenant_exists() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let misses = |text: &str| sample(text, "acsgw_tenant_cache_events_total", &[("event", "miss")]);
    let before = misses(&scrape(&app.url("/metrics")).await);
    let url = app.url("/v1/tenants/never-created/token/teams");
    let response = app.client.post(url).body("{not json").send().await.unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let after = misses(&scrape(&app.url("/metrics")).await);
    assert_eq!(before, after, "labelling a refusal never looks the tenant up");

    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    for tenant in [slug.as_str(), "no-such-tenant"] {
        let url = app.url(&format!("/v1/tenants/{tenant}/token/teams"));
        let response = app.client.post(url).body("{not json").send().await.unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    let text = scrape(&app.url("/metrics")).await;
    let requests = |tenant: &str| {
        sample(&text, "acsgw_exchange_requests_total", &[("outcome", "invalid_request"), ("tenant", tenant)])
    };
    assert_eq!(requests(&slug), Some(1.0), "{text}");
    assert_eq!(requests("_unknown"), Some(2.0));
    assert!(!text.contains("no-such-tenant") && !text.contains("never-created"));
}

#[tokio::test]
async fn a_tenant_deleted_while_the_listener_was_down_loses_its_series_when_it_reconnects() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let (kept, gone) = (
        app.create_exchange_tenant(&up, &json!({})).await,
        app.create_exchange_tenant(&up, &json!({})).await,
    );
    for slug in [&kept, &gone] {
        assert_eq!(app.exchange(slug, &up.a1(), None).await.status(), StatusCode::OK);
    }
    // Deleted behind the gateway's back: no NOTIFY, so no replica hears of it.
    sqlx::query("DELETE FROM tenants WHERE slug = $1").bind(&gone).execute(&app.pool).await.unwrap();
    let labelled = |text: &str, slug: &str| text.contains(&format!("tenant=\"{slug}\""));
    assert!(labelled(&scrape(&app.url("/metrics")).await, &gone), "nothing told the replica yet");

    assert_eq!(app.cut_listeners().await, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let text = scrape(&app.url("/metrics")).await;
        if !labelled(&text, &gone) {
            assert!(labelled(&text, &kept), "a tenant that exists keeps its series");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the deleted tenant's series remain:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_breaker_gauge_shows_2_for_a_tenant_whose_acs_keeps_failing() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let gauge = |text: &str| sample(text, "acsgw_acs_circuit_breaker_state", &[("tenant", &slug)]);
    assert_eq!(gauge(&scrape(&app.url("/metrics")).await), None, "no failures, no series");
    up.set_faults(Faults { error_rate: 1.0, ..Default::default() });
    // The breaker opens after 5 consecutive failed calls (acs::BreakerConfig's default).
    for n in 0..5 {
        let response = app.exchange(&slug, &up.a1_with(json!({"uti": format!("u{n}")})), None).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let text = scrape(&app.url("/metrics")).await;
    assert_eq!(gauge(&text), Some(2.0), "2 = open:\n{text}");
    let attempts = up.acs_exchanges();
    let refused = app.exchange(&slug, &up.a1_with(json!({"uti": "after"})), None).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(up.acs_exchanges(), attempts, "an open breaker does not call ACS");
}
