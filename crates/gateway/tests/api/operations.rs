//! Metrics and statistics after known traffic.

use std::process::{Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{assert_problem, spawn_app_on},
    upstreams::spawn_exchange_app,
};

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of the sample `name{labels}` (labels in the exporter's sorted order), if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
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
    assert_eq!(sample(&text, "acsgw_exchange_cache_hits_total", &[("tenant", &first)]), Some(1.0));
    assert_eq!(
        sample(&text, "acsgw_upstream_requests_total", &[("status", "200"), ("tenant", &first)]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "acsgw_upstream_requests_total", &[("status", "200"), ("tenant", &second)]),
        Some(1.0)
    );
    assert_eq!(sample(&text, "acsgw_exchange_duration_seconds_count", &[("tenant", &first)]), Some(3.0));
    assert_eq!(sample(&text, "acsgw_upstream_duration_seconds_count", &[("tenant", &first)]), Some(1.0));
    let tenant_id = crate::helpers::ENTRA_TENANT;
    assert_eq!(
        sample(&text, "acsgw_signing_key_fetches_total", &[("authority", tenant_id), ("result", "ok")]),
        Some(2.0),
        "metadata and keys"
    );
    assert_eq!(sample(&text, "acsgw_live_replicas", &[]), Some(1.0));
    assert_eq!(sample(&text, "acsgw_http_requests_in_flight", &[]), Some(1.0), "the scrape itself");
    assert!(sample(&text, "acsgw_tenant_cache_events_total", &[("event", "hit")]).unwrap() >= 3.0);
    assert!(
        text.lines().any(|l| l.starts_with("acsgw_signing_key_age_seconds{authority=\"72f988bf")),
        "{text}"
    );
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
    app.exchange(&limited, &up.a1_with(json!({"uti": "1"})), None).await;
    app.exchange(&limited, &up.a1_with(json!({"uti": "2"})), None).await;
    let cs =
        format!("endpoint={}/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", up.acs.endpoint());
    let wrong_key = app.create_exchange_tenant(&up, &json!({"acs": {"connectionString": cs}})).await;
    app.exchange(&wrong_key, &up.a1(), None).await;
    let text = scrape(&app.url("/metrics")).await;
    assert_eq!(sample(&text, "acsgw_rate_limited_total", &[("tenant", &limited)]), Some(1.0));
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

#[tokio::test]
async fn promtool_accepts_the_metrics_output() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    app.exchange(&slug, &up.a1(), None).await;
    app.exchange("no-such-tenant", &up.a1(), None).await;
    let text = scrape(&app.url("/metrics")).await;
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
async fn the_stats_endpoint_agrees_with_the_traffic_after_a_restart() {
    let (first, up) = spawn_exchange_app(&[]).await;
    let slug = first.create_exchange_tenant(&up, &json!({})).await;
    let a1 = up.a1();
    for _ in 0..3 {
        assert_eq!(first.exchange(&slug, &a1, None).await.status(), StatusCode::OK);
    }
    assert_eq!(
        first.exchange(&slug, &up.a1_with(json!({"uti": "second"})), None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        first.exchange(&slug, &up.a1_with(json!({"exp": 1})), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let key = first.admin_key.clone();
    first.stop().await;

    let settings = [("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url())];
    let second = spawn_app_on(&first.database_url, &settings).await;
    let response = second
        .client
        .get(second.url(&format!("/admin/v1/tenants/{slug}/stats")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stats: Value = response.json().await.unwrap();
    assert_eq!(stats["tenant"], slug);
    for window in ["lastHour", "lastDay"] {
        let w = &stats[window];
        assert_eq!(w["exchanges"], json!({"ok": 4, "invalid_token": 1}), "{window}: {stats}");
        assert_eq!(w["total"], 5);
        assert_eq!(w["cacheHits"], 2);
        assert_eq!(w["upstreamCalls"], 2);
        assert!(w["latencyMs"]["p50"].as_u64().unwrap() <= w["latencyMs"]["p99"].as_u64().unwrap());
    }
    let unknown = second
        .client
        .get(second.url("/admin/v1/tenants/no-such/stats"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}
