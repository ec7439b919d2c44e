//! The bounded fetch against a real HTTP server: size limit, status, timeout and JSON.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

use std::time::Duration;

use jose::fetch::{self, FetchError, MAX_DOCUMENT_BYTES};
use serde_json::Value;
use url::Url;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};

async fn serving(template: ResponseTemplate) -> (MockServer, Url) {
    let server = MockServer::start().await;
    Mock::given(path("/doc")).respond_with(template).mount(&server).await;
    let url = Url::parse(&format!("{}/doc", server.uri())).unwrap();
    (server, url)
}

async fn get(url: &Url, timeout: Duration) -> Result<Value, FetchError> {
    fetch::json(&http_client(), url, timeout).await
}

#[tokio::test]
async fn a_document_up_to_the_size_limit_is_read_and_one_byte_more_is_refused() {
    let padding = |len: usize| format!(r#"{{"p":"{}"}}"#, "x".repeat(len - 8));
    let (_server, url) =
        serving(ResponseTemplate::new(200).set_body_string(padding(MAX_DOCUMENT_BYTES))).await;
    assert!(get(&url, Duration::from_secs(5)).await.is_ok());
    let (_server, url) =
        serving(ResponseTemplate::new(200).set_body_string(padding(MAX_DOCUMENT_BYTES + 1))).await;
    let error = get(&url, Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(error, FetchError::TooLarge(MAX_DOCUMENT_BYTES)), "{error:?}");
}

#[tokio::test]
async fn a_read_is_bounded_by_the_callers_limit() {
    let (_server, url) = serving(ResponseTemplate::new(200).set_body_string("0123456789")).await;
    let http = http_client();
    let mut response = http.get(url.clone()).send().await.unwrap();
    assert_eq!(fetch::read_bounded(&mut response, 10).await.unwrap(), b"0123456789");
    let mut response = http.get(url).send().await.unwrap();
    assert!(matches!(fetch::read_bounded(&mut response, 9).await, Err(FetchError::TooLarge(9))));
}

#[tokio::test]
async fn a_failed_status_or_a_body_that_is_not_the_json_is_an_error() {
    let (_server, url) = serving(ResponseTemplate::new(503).set_body_string("{}")).await;
    assert!(matches!(get(&url, Duration::from_secs(5)).await, Err(FetchError::Status(503))));
    let (_server, url) = serving(ResponseTemplate::new(200).set_body_string("not json")).await;
    assert!(matches!(get(&url, Duration::from_secs(5)).await, Err(FetchError::Json(_))));
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_a_transport_timeout() {
    let slow = ResponseTemplate::new(200).set_body_string("{}").set_delay(Duration::from_secs(5));
    let (_server, url) = serving(slow).await;
    match get(&url, Duration::from_millis(100)).await {
        Err(FetchError::Transport(error)) => assert!(error.is_timeout(), "{error}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_streamed_answer_with_no_declared_length_is_cut_off_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/doc", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let chunk = format!("{:x}\r\n{}\r\n", 6, "012345");
        let answer = format!("{head}{chunk}{chunk}0\r\n\r\n");
        let _ = socket.write_all(answer.as_bytes()).await;
    });
    let mut response = http_client().get(url).send().await.unwrap();
    assert_eq!(response.content_length(), None);
    assert!(matches!(fetch::read_bounded(&mut response, 11).await, Err(FetchError::TooLarge(11))));
}

/// An HTTP client for tests, with a timeout: a hung server fails the test instead of holding it.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}
