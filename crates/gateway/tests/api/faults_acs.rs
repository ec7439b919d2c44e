//! The fault suite, ACS's half: a client's view of an ACS resource that fails some requests,
//! throttles, is slow, cuts connections or is down, and what of it reached ACS.

use std::{
    collections::HashSet,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use devstack::emulator::Faults;
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::{
    fault_helpers::{AcsDouble, acs_error, acs_token, down_until_revived, failing_every, spawn_fault_app},
    helpers::{APP_ID, assert_problem},
};

/// The Retry-After a client was given, in seconds.
fn retry_after(response: &Response) -> u64 {
    let header = response.headers().get("retry-after").expect("a Retry-After header");
    header.to_str().unwrap().parse().expect("Retry-After in seconds")
}

#[tokio::test]
async fn acs_failing_one_request_in_five_with_a_5xx_still_completes_every_exchange_by_retrying() {
    let (app, up) = spawn_fault_app(&[]).await;
    let acs = AcsDouble::start(failing_every(5)).await;
    let slug = app.create_exchange_tenant(&up, &acs.tenant_change()).await;

    for n in 0..20 {
        let response = app.exchange(&slug, &up.a1_with(json!({"uti": format!("u{n}")})), None).await;
        assert_eq!(response.status(), StatusCode::OK, "exchange {n}: {}", response.text().await.unwrap());
    }

    // Requests 5, 10, 15 and 20 failed and were each retried once: 20 tokens took 24 requests.
    let reached = acs.exchanges().await;
    assert_eq!(reached.len(), 24, "every failed request was retried, and only those");
    let ids: HashSet<&str> =
        reached.iter().map(|request| request.headers["x-ms-client-request-id"].to_str().unwrap()).collect();
    assert_eq!(ids.len(), 20, "a retry carries its exchange's x-ms-client-request-id");
}

#[tokio::test]
async fn persistent_acs_throttling_is_retried_after_acs_retry_after_then_passed_on_as_429() {
    let (app, up) = spawn_fault_app(&[]).await;
    let acs = AcsDouble::start(acs_error(429, "TooManyRequests").insert_header("retry-after", "1")).await;
    let slug = app.create_exchange_tenant(&up, &acs.tenant_change()).await;

    let started = Instant::now();
    let response = app.exchange(&slug, &up.a1(), None).await;
    let elapsed = started.elapsed();

    assert_eq!(retry_after(&response), 1, "ACS's Retry-After is passed on");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(acs.exchange_count().await, 3, "three attempts, then the gateway gives up");
    assert!(elapsed >= Duration::from_secs(2), "ACS's Retry-After was waited out twice: {elapsed:?}");
}

#[tokio::test]
async fn an_acs_asking_to_retry_after_zero_seconds_still_gives_the_client_at_least_one() {
    let (app, up) = spawn_fault_app(&[]).await;
    let acs = AcsDouble::start(acs_error(503, "ServiceUnavailable").insert_header("retry-after", "0")).await;
    let slug = app.create_exchange_tenant(&up, &acs.tenant_change()).await;
    let response = app.exchange(&slug, &up.a1(), None).await;
    assert_eq!(retry_after(&response), 1, "never Retry-After: 0 after the gateway's own retries");
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    assert_eq!(acs.exchange_count().await, 3);
}

#[tokio::test]
async fn an_acs_slower_than_the_attempt_timeout_is_a_504_within_the_time_budget_after_one_request() {
    let (app, up) =
        spawn_fault_app(&[("ACSGW_ACS_ATTEMPT_TIMEOUT_MS", "300"), ("ACSGW_ACS_TOTAL_TIMEOUT_MS", "600")])
            .await;
    let acs = AcsDouble::start(acs_token().set_delay(Duration::from_secs(10))).await;
    let slug = app.create_exchange_tenant(&up, &acs.tenant_change()).await;
    // A token for another user is refused after validation, before ACS: the signing keys are then
    // cached, and the time measured below is the ACS call's.
    let other_user = "d3e0d3e0-0000-4000-8000-0000000000ff";
    let refused = app.exchange_as(&slug, &up.a1_with(json!({"uti": "warm"})), APP_ID, other_user, None).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "user_mismatch").await;
    let a1 = up.a1();

    let started = Instant::now();
    let response = app.exchange(&slug, &a1, None).await;
    let elapsed = started.elapsed();

    assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    // The attempt timeout is 300 ms (the total budget 600 ms); the rest of the bound is slack for a
    // loaded machine, and still far short of ACS's 10 s.
    assert!(elapsed < Duration::from_millis(1500), "the client waited {elapsed:?}");
    assert_eq!(acs.exchange_count().await, 1, "a request ACS may be processing is not sent again");
}

#[tokio::test]
async fn a_connection_reset_by_acs_mid_request_is_a_503_and_the_post_is_not_sent_again() {
    let (app, up) = spawn_fault_app(&[]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    // A good exchange first, so the next one goes over a kept-alive connection.
    assert_eq!(app.exchange(&slug, &up.a1_with(json!({"uti": "warm"})), None).await.status(), StatusCode::OK);
    up.set_faults(Faults { reset_rate: 1.0, ..Faults::default() });

    for n in 0..2 {
        let response = app.exchange(&slug, &up.a1_with(json!({"uti": format!("reset{n}")})), None).await;
        assert!(retry_after(&response) >= 1);
        assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    }

    let stats = up.acs.stats();
    assert_eq!(stats.resets, 2, "{stats:?}");
    assert_eq!(stats.exchange_attempts, 3, "each cut request reached ACS once: {stats:?}");
}

#[tokio::test]
async fn a_dead_acs_resource_opens_the_breaker_and_it_closes_when_acs_answers_again() {
    let (app, up) = spawn_fault_app(&[]).await;
    let (answer, alive) = down_until_revived();
    let acs = AcsDouble::start(answer).await;
    let slug = app.create_exchange_tenant(&up, &acs.tenant_change()).await;
    let mut uti = 0;
    let mut a1 = || {
        uti += 1;
        up.a1_with(json!({"uti": format!("u{uti}")}))
    };

    // Five failed calls in a row (acs::BreakerConfig's default), each of three attempts.
    for _ in 0..5 {
        assert_problem(
            app.exchange(&slug, &a1(), None).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
        )
        .await;
    }
    assert_eq!(acs.exchange_count().await, 15);

    let started = Instant::now();
    let refused = app.exchange(&slug, &a1(), None).await;
    assert!(started.elapsed() < Duration::from_millis(500), "an open breaker answers at once");
    let wait = retry_after(&refused);
    assert!((10..=15).contains(&wait), "Retry-After is the breaker's cool-down (15 s): {wait}");
    assert_problem(refused, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
    assert_eq!(acs.exchange_count().await, 15, "an open breaker does not call ACS");

    alive.store(true, Ordering::SeqCst);
    // Until the cool-down ends every exchange is refused without calling ACS; then one probe goes
    // through, and its success closes the breaker.
    let deadline = Instant::now() + Duration::from_secs(wait + 10);
    loop {
        let response = app.exchange(&slug, &a1(), None).await;
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(retry_after(&response) >= 1);
        assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
        assert_eq!(acs.exchange_count().await, 15, "no call to ACS while the breaker is open");
        assert!(Instant::now() < deadline, "the breaker never let a probe through");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(acs.exchange_count().await, 16, "one probe");
    for _ in 0..3 {
        assert_eq!(
            app.exchange(&slug, &a1(), None).await.status(),
            StatusCode::OK,
            "the breaker is closed again"
        );
    }
    assert_eq!(acs.exchange_count().await, 19);
}
