//! What the gateway does when upstreams misbehave or change: ACS faults, throttling, the tenant's
//! own limit (also across replicas), signing-key rotation and floods of unknown keys.

use std::time::Duration;

use devstack::{
    emulator::{Faults, KEY_REFETCH_COOLDOWN},
    issuer::MintRequest,
};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{APP_ID, ENTRA_TENANT, assert_problem, spawn_app_on, spawn_app_without_postgres},
    operations::{sample, scrape},
    upstreams::{USER_ID, spawn_exchange_app},
};

#[tokio::test]
async fn acs_throttling_is_passed_on_as_429_with_retry_after() {
    let (app, up) = spawn_exchange_app(&[]).await;
    up.set_faults(Faults { throttle_rate: 1.0, retry_after_seconds: 30, ..Default::default() });
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let response = app.exchange(&slug, &up.a1(), None).await;
    assert_eq!(response.headers()["retry-after"], "30");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(up.acs_exchanges(), 1, "a Retry-After past the budget is not waited for");
}

#[tokio::test]
async fn acs_5xx_past_retries_is_503_and_each_retry_is_counted() {
    let (app, up) = spawn_exchange_app(&[]).await;
    up.set_faults(Faults { error_rate: 1.0, ..Default::default() });
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let response = app.exchange(&slug, &up.a1(), None).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    assert_eq!(up.acs_exchanges(), 3, "three attempts");
}

#[tokio::test]
async fn a_slow_acs_is_a_504() {
    let (app, up) =
        spawn_exchange_app(&[("ACSGW_ACS_ATTEMPT_TIMEOUT_MS", "300"), ("ACSGW_ACS_TOTAL_TIMEOUT_MS", "600")])
            .await;
    up.set_faults(Faults { latency_ms: 2000, ..Default::default() });
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_problem(
        app.exchange(&slug, &up.a1(), None).await,
        StatusCode::GATEWAY_TIMEOUT,
        "upstream_timeout",
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_acs_is_a_503() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cs =
        format!("endpoint=http://127.0.0.1:{closed}/;accesskey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let slug = app.create_exchange_tenant(&up, &json!({"acs": {"connectionString": cs}})).await;
    assert_problem(
        app.exchange(&slug, &up.a1(), None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
}

#[tokio::test]
async fn acs_refusing_our_credential_is_a_502_not_the_users_fault() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let endpoint = up.acs.endpoint().to_owned();
    let cs = format!("endpoint={endpoint}/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=");
    let slug = app.create_exchange_tenant(&up, &json!({"acs": {"connectionString": cs}})).await;
    let body =
        assert_problem(app.exchange(&slug, &up.a1(), None).await, StatusCode::BAD_GATEWAY, "upstream_error")
            .await;
    assert!(!body.to_string().contains("ICEiIyQl"));
}

#[tokio::test]
async fn a_connection_reset_by_acs_is_an_upstream_failure() {
    let (app, up) = spawn_exchange_app(&[]).await;
    up.set_faults(Faults { reset_rate: 1.0, ..Default::default() });
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let response = app.exchange(&slug, &up.a1(), None).await;
    assert!(response.status().is_server_error(), "{}", response.status());
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn the_tenants_limit_answers_429_before_reaching_acs() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug =
        app.create_exchange_tenant(&up, &json!({"limits": {"exchangesPerSecond": 1, "burst": 2}})).await;
    let statuses: Vec<StatusCode> = {
        let mut statuses = Vec::new();
        for n in 0..4 {
            statuses
                .push(app.exchange(&slug, &up.a1_with(json!({"uti": format!("u{n}")})), None).await.status());
        }
        statuses
    };
    assert_eq!(statuses[..2], [StatusCode::OK, StatusCode::OK]);
    let response = app.exchange(&slug, &up.a1_with(json!({"uti": "last"})), None).await;
    assert!(response.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let allowed = statuses.iter().filter(|s| **s == StatusCode::OK).count() as u64;
    assert_eq!(up.acs_exchanges(), allowed, "limited requests never reach ACS");
}

#[tokio::test]
async fn two_replicas_together_enforce_the_tenants_limit() {
    let fast_beat = [("ACSGW_HEARTBEAT_SECONDS", "1")];
    let (a, up) = spawn_exchange_app(&fast_beat).await;
    let mut settings =
        vec![("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url()), ("ACSGW_HEARTBEAT_SECONDS", "1")];
    settings.push(("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "0"));
    let b = spawn_app_on(&a.database_url, &settings).await;
    let slug = a.create_exchange_tenant(&up, &json!({"limits": {"exchangesPerSecond": 1, "burst": 4}})).await;
    // Both replicas must count each other before the test means anything: each one's limiter (as
    // its `acsgw_live_replicas` gauge shows) shares the limit between two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for replica in [&a, &b] {
        while sample(&scrape(&replica.url("/metrics")).await, "acsgw_live_replicas", &[]) != Some(2.0) {
            assert!(tokio::time::Instant::now() < deadline, "replicas never saw each other");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut allowed = 0;
    for n in 0..6 {
        for (name, replica) in [("a", &a), ("b", &b)] {
            let a1 = up.a1_with(json!({"uti": format!("{name}{n}")}));
            if replica.exchange(&slug, &a1, None).await.status() == StatusCode::OK {
                allowed += 1;
            }
        }
    }
    // Each replica holds half the burst (2) and half the rate: 4 in all, plus at most a refill or two.
    assert!((4..=6).contains(&allowed), "{allowed} exchanges allowed across two replicas");
    assert_eq!(up.acs_exchanges(), allowed);
}

#[tokio::test]
async fn a_signing_key_rotated_mid_traffic_is_picked_up_with_one_fetch() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    // The issuer counts every key-set fetch; the emulator's own are not the gateway's.
    let gateway_fetches = || up.issuer.key_set_fetches() - up.acs.stats().key_fetches;
    let fetches = gateway_fetches();
    up.issuer.issuer().rotate(false).unwrap();
    // The emulator, like ACS, refetches keys for an unknown kid only after its own cool-down: move
    // its clock past it.
    up.acs.clock().advance(KEY_REFETCH_COOLDOWN);
    let response = app.exchange(&slug, &up.a1_with(json!({"uti": "after-rotation"})), None).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    assert_eq!(gateway_fetches(), fetches + 1);
    assert_eq!(
        app.exchange(&slug, &up.a1_with(json!({"uti": "again"})), None).await.status(),
        StatusCode::OK
    );
    assert_eq!(gateway_fetches(), fetches + 1, "the new key is cached");
}

#[tokio::test]
async fn a_flood_of_unknown_kids_does_not_become_a_flood_of_fetches() {
    let (app, up) = spawn_exchange_app(&[("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "300")]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    let fetches = up.issuer.key_set_fetches();
    for n in 0..50 {
        let mut request = MintRequest::new(ENTRA_TENANT, USER_ID, APP_ID);
        request.header.insert("kid".into(), json!(format!("invented{n}")));
        let response = app.exchange(&slug, &up.mint(&request), None).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
    // The shared key set cools down; the tenant's own (which may hold keys the shared one lacks) is
    // looked at once for the first such kid, then cools down too.
    assert_eq!(up.issuer.key_set_fetches(), fetches + 1, "one fetch per key set within the cool-down");
    assert_eq!(up.acs_exchanges(), 1);
}

#[tokio::test]
async fn an_unreachable_signing_key_source_is_a_503_with_retry_after_not_a_bad_token() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
    up.issuer.stop().await;
    // Signed by a key the gateway has never seen, so it must ask the (now unreachable) key source.
    up.issuer.issuer().rotate(false).unwrap();
    for n in 0..2 {
        let response = app.exchange(&slug, &up.a1_with(json!({"uti": format!("rotated{n}")})), None).await;
        assert_eq!(response.headers()["retry-after"], "30");
        let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
        assert_eq!(body["detail"], "signing keys are unavailable");
    }
    assert_eq!(up.acs_exchanges(), 1);
}

#[tokio::test]
async fn raising_a_tenants_limit_takes_effect_at_once() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug =
        app.create_exchange_tenant(&up, &json!({"limits": {"exchangesPerSecond": 1, "burst": 1}})).await;
    // Several at once, so that however slow the machine, they meet the bucket of one together.
    let statuses = |n: usize, round: &'static str| {
        let tokens: Vec<String> =
            (0..n).map(|i| up.a1_with(json!({"uti": format!("{round}-{i}")}))).collect();
        let app = &app;
        let slug = &slug;
        async move {
            let answers = join_all(tokens.iter().map(|a1| app.exchange(slug, a1, None))).await;
            answers.iter().map(|r| r.status()).collect::<Vec<_>>()
        }
    };
    let before = statuses(3, "before").await;
    assert!(before.contains(&StatusCode::TOO_MANY_REQUESTS), "a bucket of one: {before:?}");
    let patched =
        app.patch_tenant(&slug, Some("*"), &json!({"limits": {"exchangesPerSecond": 1, "burst": 10}})).await;
    assert_eq!(patched.status(), StatusCode::OK);
    // The old bucket (one a second) lets at most one or two of these through, whatever the time taken.
    let eventually = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let after = statuses(5, "after").await;
        if after.iter().all(|s| *s == StatusCode::OK) {
            break;
        }
        // Until this replica has heard of the change.
        assert!(tokio::time::Instant::now() < eventually, "the new limit never applied: {after:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unreachable_registry_is_a_503_not_a_bug() {
    let up = crate::upstreams::upstreams().await;
    let settings = [("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url())];
    let app = spawn_app_without_postgres(&settings).await;
    let response = app.exchange("fabrikam", &up.a1(), None).await;
    assert!(response.headers().contains_key("retry-after"));
    let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    assert_eq!(
        body["detail"],
        "the tenant registry is unreachable and this tenant is not known here; try again shortly"
    );
}

#[tokio::test]
async fn stopping_the_gateway_lets_an_exchange_in_flight_finish() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    up.set_faults(Faults { latency_ms: 800, ..Default::default() });
    let a1 = up.a1();
    let attempts = up.acs.stats().exchange_attempts;
    let in_flight = app.exchange(&slug, &a1, None);
    let stop = async {
        // Once ACS holds the exchange (its injected latency), the request is in flight here.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while up.acs.stats().exchange_attempts == attempts {
            assert!(tokio::time::Instant::now() < deadline, "the exchange never reached ACS");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        app.stop().await;
    };
    let (response, ()) = tokio::join!(in_flight, stop);
    assert_eq!(response.status(), StatusCode::OK, "the request begun before the stop is answered");
    assert!(app.client.get(app.url("/healthz")).send().await.is_err(), "and then the gateway is gone");
}
