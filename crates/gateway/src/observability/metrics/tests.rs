use std::time::Duration;

use super::*;

const SLOW: Duration = Duration::from_millis(100);

fn exchange(metrics: &Metrics, tenant: &str, outcome: &str, cache_hit: bool, millis: u64) {
    let duration = Duration::from_millis(millis);
    metrics.exchange(&ExchangeRecord { tenant, outcome, duration, cache_hit });
}

/// A tenant whose exchanges succeed: misses that call ACS once, then hits.
fn ordinary_traffic(metrics: &Metrics, tenant: &str) {
    exchange(metrics, tenant, "ok", false, 20);
    metrics.upstream(tenant, "200", 0.015);
    exchange(metrics, tenant, "ok", true, 1);
    exchange(metrics, tenant, "ok", true, 1);
}

/// Every kind of per-tenant series.
fn troubled_traffic(metrics: &Metrics, tenant: &str) {
    ordinary_traffic(metrics, tenant);
    exchange(metrics, tenant, "invalid_token", false, 2);
    metrics.token_rejection(tenant, "expired");
    metrics.token_rejection(tenant, "audience");
    exchange(metrics, tenant, "rate_limited", false, 1);
    metrics.rate_limited(tenant);
    exchange(metrics, tenant, "upstream_error", false, 1500);
    metrics.upstream(tenant, "503", 0.5);
    metrics.upstream(tenant, "401", 0.2);
    metrics.credential_rejected(tenant);
}

fn series_of<'t>(text: &'t str, tenant: &str) -> Vec<&'t str> {
    let label = format!("tenant=\"{tenant}\"");
    text.lines().filter(|line| !line.starts_with('#') && line.contains(&label)).collect()
}

#[test]
fn a_tenant_whose_exchanges_succeed_has_two_series() {
    let metrics = Metrics::new(SLOW);
    ordinary_traffic(&metrics, "contoso");
    let text = metrics.render();
    let series = series_of(&text, "contoso");
    assert_eq!(
        series,
        [
            "acsgw_exchange_requests_total{outcome=\"ok\",tenant=\"contoso\"} 3",
            "acsgw_upstream_requests_total{status=\"200\",tenant=\"contoso\"} 1",
        ],
        "{text}"
    );
}

#[test]
fn latency_and_cache_hits_are_counted_for_all_tenants_together() {
    let metrics = Metrics::new(SLOW);
    for tenant in ["contoso", "fabrikam"] {
        ordinary_traffic(&metrics, tenant);
    }
    exchange(&metrics, "fabrikam", "invalid_token", false, 2);
    let text = metrics.render();
    let count = |result: &str| {
        let prefix = format!("acsgw_exchange_duration_seconds_count{{result=\"{result}\"}} ");
        text.lines().find_map(|line| line.strip_prefix(&prefix)).map(str::to_owned)
    };
    assert_eq!(count("miss").as_deref(), Some("2"));
    assert_eq!(count("hit").as_deref(), Some("4"));
    assert_eq!(count("error").as_deref(), Some("1"));
    assert!(text.contains("\nacsgw_exchange_cache_hits_total 4\n"), "{text}");
    assert!(text.contains("\nacsgw_upstream_duration_seconds_count 2\n"), "{text}");
}

#[test]
fn only_exchanges_slower_than_the_threshold_count_as_slow() {
    let metrics = Metrics::new(SLOW);
    exchange(&metrics, "contoso", "ok", false, 100);
    exchange(&metrics, "contoso", "ok", false, 101);
    exchange(&metrics, "contoso", "upstream_timeout", false, 10_000);
    exchange(&metrics, "fabrikam", "ok", false, 99);
    let text = metrics.render();
    assert!(text.contains("\nacsgw_exchange_slow_total{tenant=\"contoso\"} 2\n"), "{text}");
    assert!(!text.contains("acsgw_exchange_slow_total{tenant=\"fabrikam\"}"), "no slow exchange, no series");
}

#[test]
fn forgetting_a_tenant_removes_each_of_its_series_and_no_other() {
    let metrics = Metrics::new(SLOW);
    for tenant in ["contoso", "fabrikam"] {
        troubled_traffic(&metrics, tenant);
    }
    let breakers = [("contoso".to_owned(), 2), ("fabrikam".to_owned(), 1)];
    metrics.set_live(1, &[], &breakers);
    let before = metrics.render();
    assert_eq!(series_of(&before, "contoso").len(), 13, "every kind of series is there:\n{before}");

    metrics.forget_tenants(&["contoso"]);
    let after = metrics.render();
    assert_eq!(series_of(&after, "contoso"), Vec::<&str>::new(), "{after}");
    assert_eq!(series_of(&after, "fabrikam"), series_of(&before, "fabrikam"));
    assert_eq!(metrics.tenants_with_series().into_iter().collect::<Vec<_>>(), ["fabrikam"]);
}

#[test]
fn the_unknown_tenant_is_not_listed_as_a_tenant_with_series() {
    let metrics = Metrics::new(SLOW);
    exchange(&metrics, UNKNOWN_TENANT, "tenant_not_found", false, 1);
    metrics.credential_rejected("contoso");
    assert_eq!(metrics.tenants_with_series().into_iter().collect::<Vec<_>>(), ["contoso"]);
}

#[test]
fn signing_key_series_do_not_grow_with_tenant_authorities() {
    let metrics = Metrics::new(SLOW);
    let mut ages = Vec::new();
    for n in 0..50 {
        let authority = format!("0a0b0c0d-0000-4000-8000-{n:012}");
        metrics.key_fetch(&authority, true);
        ages.extend(["a", "b"].map(|kid| (authority.clone(), kid.to_owned(), Duration::from_secs(60 + n))));
    }
    metrics.key_fetch("organizations/v2.0", false);
    metrics.set_live(1, &ages, &[]);
    let text = metrics.render();
    let samples =
        |name: &str| text.lines().filter(|l| l.starts_with(&format!("{name}{{"))).collect::<Vec<_>>();
    assert_eq!(
        samples("acsgw_signing_key_fetches_total"),
        [
            "acsgw_signing_key_fetches_total{authority=\"organizations/v2.0\",result=\"error\"} 1",
            "acsgw_signing_key_fetches_total{authority=\"tenant\",result=\"ok\"} 50",
        ]
    );
    assert_eq!(
        samples("acsgw_signing_key_age_seconds"),
        [
            "acsgw_signing_key_age_seconds{authority=\"tenant\",kid=\"a\"} 109",
            "acsgw_signing_key_age_seconds{authority=\"tenant\",kid=\"b\"} 109",
        ]
    );
}

#[test]
fn ten_thousand_ordinary_tenants_cost_two_lines_and_under_140_bytes_each() {
    let metrics = Metrics::new(SLOW);
    ordinary_traffic(&metrics, "tenant-000000");
    let first = metrics.render();
    for n in 1..10_000 {
        ordinary_traffic(&metrics, &format!("tenant-{n:06}"));
    }
    let text = metrics.render();
    let samples = |text: &str| text.lines().filter(|line| !line.starts_with('#')).count();
    let per_tenant = |text: &str| text.lines().filter(|line| line.contains("tenant=\"")).count();
    assert_eq!(per_tenant(&text), 20_000);
    assert_eq!(
        samples(&text) - per_tenant(&text),
        samples(&first) - per_tenant(&first),
        "nothing else grows"
    );
    let bytes_per_tenant = (text.len() - first.len()) / 9_999;
    assert!(bytes_per_tenant < 140, "{bytes_per_tenant} bytes");
}
