//! Fault injection (latency, 429, 5xx, connection resets) and the `/dev` endpoints.

use std::time::{Duration, Instant};

use devstack::emulator::Faults;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::emulator_support::{TestStack, error_of};

const CREATE_PATH: &str = "/identities?api-version=2023-10-01";

async fn post_faults(stack: &TestStack, faults: &Value) -> reqwest::Response {
    stack.client.post(stack.url("/dev/faults")).json(faults).send().await.unwrap()
}

#[tokio::test]
async fn latency_delays_every_identity_request() {
    let stack = TestStack::start_with(Faults { latency_ms: 300, ..Faults::default() }).await;
    let started = Instant::now();
    let response = stack.signed(Method::POST, CREATE_PATH, "").send().await.unwrap();
    // Only a lower bound: a slow machine may take longer, never shorter.
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
    assert_eq!(response.status(), StatusCode::CREATED);
    stack.stop().await;
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_before_authentication() {
    let stack =
        TestStack::start_with(Faults { throttle_rate: 1.0, retry_after_seconds: 7, ..Faults::default() })
            .await;
    let unsigned = stack.client.post(stack.url(CREATE_PATH)).send().await.unwrap();
    assert_eq!(unsigned.headers().get("retry-after").unwrap(), "7");
    assert!(unsigned.headers().get("ms-cv").is_some());
    let (status, error) = error_of(unsigned).await;
    assert_eq!((status, error["code"].as_str()), (429, Some("TooManyRequests")));
    let stats = stack.emulator.stats();
    assert_eq!((stats.throttled, stats.faults_injected, stats.auth_failures), (1, 1, 0));
    stack.stop().await;
}

#[tokio::test]
async fn the_error_rate_answers_503_or_500_with_an_error_body() {
    let stack = TestStack::start_with(Faults { error_rate: 1.0, ..Faults::default() }).await;
    for _ in 0..6 {
        let (status, error) =
            error_of(stack.signed(Method::POST, CREATE_PATH, "").send().await.unwrap()).await;
        let code = error["code"].as_str();
        assert!(
            matches!((status, code), (503, Some("ServiceUnavailable")) | (500, Some("InternalServerError"))),
            "{status} {error}"
        );
    }
    assert_eq!(stack.emulator.stats().server_errors, 6);
    stack.stop().await;
}

#[tokio::test]
async fn a_reset_is_a_transport_error_not_an_http_status() {
    let stack = TestStack::start_with(Faults { reset_rate: 1.0, ..Faults::default() }).await;
    let outcome = stack.signed(Method::POST, CREATE_PATH, "").send().await;
    let error = outcome.expect_err("the connection should have been cut");
    assert!(error.status().is_none(), "{error:?}");
    assert_eq!(stack.emulator.stats().resets, 1);

    stack.emulator.set_faults(Faults::default());
    let after = stack.signed(Method::POST, CREATE_PATH, "").send().await.unwrap();
    assert_eq!(after.status(), StatusCode::CREATED);
    stack.stop().await;
}

#[tokio::test]
async fn faults_spare_unknown_routes_and_the_dev_endpoints() {
    let stack = TestStack::start_with(Faults { error_rate: 1.0, ..Faults::default() }).await;
    let unknown = stack.client.get(stack.url("/nowhere")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let stats = stack.client.get(stack.url("/dev/stats")).send().await.unwrap();
    assert_eq!(stats.status(), StatusCode::OK);
    assert_eq!(stack.emulator.stats().requests, 0);
    stack.stop().await;
}

#[tokio::test]
async fn faults_are_replaced_and_read_over_http() {
    let stack = TestStack::start().await;
    let settings = json!({"latencyMs": 0, "errorRate": 0.0, "throttleRate": 1.0, "retryAfterSeconds": 3, "resetRate": 0.0});
    let response = post_faults(&stack, &settings).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), settings);

    let read: Value = stack.client.get(stack.url("/dev/faults")).send().await.unwrap().json().await.unwrap();
    assert_eq!(read, settings);
    let throttled = stack.signed(Method::POST, CREATE_PATH, "").send().await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);

    // A partial body replaces everything: absent fields become zero.
    let cleared: Value = post_faults(&stack, &json!({"latencyMs": 1})).await.json().await.unwrap();
    assert_eq!(cleared["throttleRate"], 0.0);
    assert_eq!(stack.emulator.faults(), Faults { latency_ms: 1, ..Faults::default() });
    stack.stop().await;
}

#[tokio::test]
async fn invalid_fault_settings_are_400_and_change_nothing() {
    let stack = TestStack::start().await;
    for body in [json!({"errorRate": 2}), json!({"errorRatio": 0.5}), json!({"latencyMs": -1})] {
        let (status, error) = error_of(post_faults(&stack, &body).await).await;
        assert_eq!((status, error["code"].as_str()), (400, Some("ValidationError")), "{body}");
    }
    assert_eq!(stack.emulator.faults(), Faults::default());
    stack.stop().await;
}

#[tokio::test]
async fn dev_stats_count_requests_by_outcome_and_reset_to_zero() {
    let stack = TestStack::start().await;
    stack.signed(Method::POST, CREATE_PATH, "").send().await.unwrap();
    stack
        .signed_with(&[1; 32], std::time::SystemTime::now(), Method::POST, CREATE_PATH, "")
        .send()
        .await
        .unwrap();
    stack.signed(Method::POST, "/identities", "").send().await.unwrap();

    let stats: Value = stack.client.get(stack.url("/dev/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["createIdentity"], 1);
    assert_eq!(stats["authFailures"], 1);
    assert_eq!(stats["badRequests"], 1);
    assert_eq!(stats["faultsInjected"], 0);

    let reset = stack.client.post(stack.url("/dev/stats:reset")).send().await.unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(stack.emulator.stats(), devstack::emulator::Stats::default());
    stack.stop().await;
}
