//! The per-tenant circuit breaker, seen from outside: it stops calls to a failing ACS and lets a
//! probe through after the cool-down.

use std::time::Duration;

use acs::{AcsClientConfig, AcsError, BreakerConfig, BreakerState};
use jose::clock::Clock;
use wiremock::{MockServer, ResponseTemplate};

use crate::helpers::*;

fn breaker_config(failure_threshold: u32) -> AcsClientConfig {
    let breaker = BreakerConfig { failure_threshold, open_for: Duration::from_millis(300), max_tenants: 100 };
    AcsClientConfig { max_attempts: 1, breaker, ..config() }
}

#[tokio::test]
async fn the_breaker_opens_after_consecutive_failures_and_stops_calling_acs() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), None).await;
    let client = client(breaker_config(2));

    for _ in 0..2 {
        let error = exchange(&client, &server, &access_key()).await.unwrap_err();
        assert!(matches!(error, AcsError::Unavailable { .. }), "{error:?}");
    }
    assert_eq!(client.breaker_state(TENANT), BreakerState::Open);

    let error = exchange(&client, &server, &access_key()).await.unwrap_err();
    assert!(
        matches!(error, AcsError::CircuitOpen { retry_after } if retry_after <= Duration::from_millis(300)),
        "{error:?}"
    );
    assert_eq!(exchange_calls(&server).await.len(), 2);
    assert_eq!(client.breaker_states(), [(TENANT.to_owned(), BreakerState::Open)]);
}

#[tokio::test]
async fn after_the_cool_down_a_successful_probe_closes_the_breaker() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), Some(1)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let clock = Clock::manual();
    let client = client(AcsClientConfig { clock, ..breaker_config(1) });
    exchange(&client, &server, &access_key()).await.unwrap_err();
    assert_eq!(client.breaker_state(TENANT), BreakerState::Open);

    clock.advance(Duration::from_millis(400));
    assert_eq!(client.breaker_state(TENANT), BreakerState::HalfOpen);
    exchange(&client, &server, &access_key()).await.unwrap();

    assert_eq!(client.breaker_state(TENANT), BreakerState::Closed);
    assert_eq!(exchange_calls(&server).await.len(), 2);
}

#[tokio::test]
async fn a_failed_probe_reopens_the_breaker() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), None).await;
    let clock = Clock::manual();
    let client = client(AcsClientConfig { clock, ..breaker_config(1) });
    exchange(&client, &server, &access_key()).await.unwrap_err();

    clock.advance(Duration::from_millis(400));
    exchange(&client, &server, &access_key()).await.unwrap_err();

    assert_eq!(client.breaker_state(TENANT), BreakerState::Open);
    assert_eq!(exchange_calls(&server).await.len(), 2);
}

#[tokio::test]
async fn refusals_prove_acs_is_up_and_do_not_count_as_failures() {
    let server = MockServer::start().await;
    answer_exchange(&server, acs_error(400, "ValidationError", "Bad appId.", Some("appId")), None).await;
    let client = client(breaker_config(1));

    exchange(&client, &server, &access_key()).await.unwrap_err();

    assert_eq!(client.breaker_state(TENANT), BreakerState::Closed);
}

#[tokio::test]
async fn a_users_refusals_never_open_the_breaker() {
    let server = MockServer::start().await;
    answer_exchange(&server, unlicensed_user(), None).await;
    let client = client(breaker_config(1));

    for _ in 0..5 {
        let error = exchange(&client, &server, &access_key()).await.unwrap_err();
        assert!(matches!(error, AcsError::UserRefused(_)), "{error:?}");
    }

    assert_eq!(client.breaker_state(TENANT), BreakerState::Closed);
    assert!(client.breaker_states().is_empty());
    assert_eq!(exchange_calls(&server).await.len(), 5, "every call reached ACS");
}

#[tokio::test]
async fn a_users_refusal_as_the_probe_closes_a_half_open_breaker() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), Some(1)).await;
    answer_exchange(&server, unlicensed_user(), None).await;
    let clock = Clock::manual();
    let client = client(AcsClientConfig { clock, ..breaker_config(1) });
    exchange(&client, &server, &access_key()).await.unwrap_err();
    clock.advance(Duration::from_millis(400));

    let error = exchange(&client, &server, &access_key()).await.unwrap_err();

    assert!(matches!(error, AcsError::UserRefused(_)), "{error:?}");
    assert_eq!(client.breaker_state(TENANT), BreakerState::Closed, "ACS answered: it is up");
}

#[tokio::test]
async fn forgetting_a_tenant_closes_its_breaker() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), None).await;
    let client = client(breaker_config(1));
    exchange(&client, &server, &access_key()).await.unwrap_err();

    client.forget_tenant(TENANT);

    assert_eq!(client.breaker_state(TENANT), BreakerState::Closed);
    assert!(client.breaker_states().is_empty());
}
