//! Which failures are retried, how `Retry-After` and the time budget bound it, and timeouts.

use std::time::Duration;

use acs::{AcsClientConfig, AcsError, UpstreamKind::AcsExchange};
use wiremock::{MockServer, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn a_429_with_retry_after_zero_is_retried_and_each_attempt_is_signed_afresh() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(429).insert_header("Retry-After", "0"), Some(1)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    exchange(&client(config()), &server, &access_key()).await.unwrap();

    let calls = exchange_calls(&server).await;
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_signed_with(call, &key_bytes());
    }
    // One logical request for ACS's logs, but signed twice.
    assert_eq!(header(&calls[0], "x-ms-client-request-id"), header(&calls[1], "x-ms-client-request-id"));
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_budget_is_returned_as_throttled_without_retrying() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(429).insert_header("Retry-After", "30"), None).await;

    let error = exchange(&client(config()), &server, &access_key()).await.unwrap_err();

    assert!(
        matches!(error, AcsError::Throttled { retry_after: Some(wait) } if wait == Duration::from_secs(30)),
        "{error:?}"
    );
    assert_eq!(exchange_calls(&server).await.len(), 1);
}

#[tokio::test]
async fn a_retry_after_in_milliseconds_is_honoured() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503).insert_header("x-ms-retry-after-ms", "20"), Some(1))
        .await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    exchange(&client(config()), &server, &access_key()).await.unwrap();

    assert_eq!(exchange_calls(&server).await.len(), 2);
}

#[tokio::test]
async fn persistent_503s_give_unavailable_after_max_attempts() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), None).await;
    let recorder = Recorder::default();

    let error = exchange(&client(recorder.install(config())), &server, &access_key()).await.unwrap_err();

    assert!(matches!(error, AcsError::Unavailable { retry_after: None }), "{error:?}");
    assert_eq!(exchange_calls(&server).await.len(), 3);
    assert_eq!(
        recorder.calls(),
        [
            (AcsExchange, 1, "503".to_owned()),
            (AcsExchange, 2, "503".to_owned()),
            (AcsExchange, 3, "503".to_owned())
        ]
    );
}

#[tokio::test]
async fn each_transient_status_is_retried() {
    for status in [500, 502, 504] {
        let server = MockServer::start().await;
        answer_exchange(&server, ResponseTemplate::new(status), Some(1)).await;
        answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

        exchange(&client(config()), &server, &access_key()).await.unwrap();

        assert_eq!(exchange_calls(&server).await.len(), 2, "status {status}");
    }
}

#[tokio::test]
async fn one_attempt_means_no_retry() {
    let server = MockServer::start().await;
    answer_exchange(&server, ResponseTemplate::new(503), None).await;
    let config = AcsClientConfig { max_attempts: 1, ..config() };

    exchange(&client(config), &server, &access_key()).await.unwrap_err();

    assert_eq!(exchange_calls(&server).await.len(), 1);
}

#[tokio::test]
async fn a_closed_port_is_unavailable_after_retrying_the_connection() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let recorder = Recorder::default();

    let error =
        exchange_at(&client(recorder.install(config())), &format!("http://127.0.0.1:{port}"), &access_key())
            .await
            .unwrap_err();

    assert!(matches!(error, AcsError::Unavailable { .. }), "{error:?}");
    let calls = recorder.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|(_, _, status)| status == "connect_error"), "{calls:?}");
}

#[tokio::test]
async fn a_server_slower_than_the_attempt_timeout_gives_timeout_without_a_retry() {
    let server = MockServer::start().await;
    let slow = token_answer("2026-11-22T14:03:00Z").set_delay(Duration::from_secs(3));
    answer_exchange(&server, slow, None).await;
    let config = AcsClientConfig { attempt_timeout: Duration::from_millis(200), ..config() };

    let error = exchange(&client(config), &server, &access_key()).await.unwrap_err();

    assert!(matches!(error, AcsError::Timeout), "{error:?}");
    assert_eq!(exchange_calls(&server).await.len(), 1);
}

#[tokio::test]
async fn the_total_budget_bounds_an_attempt_even_when_the_attempt_timeout_is_longer() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z").set_delay(Duration::from_secs(3)), None)
        .await;
    let config = AcsClientConfig { total_timeout: Duration::from_millis(300), ..config() };

    let error = exchange(&client(config), &server, &access_key()).await.unwrap_err();

    assert!(matches!(error, AcsError::Timeout), "{error:?}");
}
