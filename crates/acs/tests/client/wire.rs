//! What the client puts on the wire, and how it reads a successful answer.

use std::time::{Duration, SystemTime};

use acs::AcsClientConfig;
use chrono::{TimeZone, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::{
    MockServer, Request,
    http::{HeaderMap, HeaderValue, Method},
};

use crate::helpers::*;

#[tokio::test]
async fn the_test_verifier_accepts_the_sdk_vector() {
    // Guards the oracle the other tests rely on: reference section 3, exchange vector.
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("host", "contoso.communication.azure.com"),
        ("x-ms-date", "Tue, 14 Nov 2023 22:13:20 GMT"),
        ("x-ms-content-sha256", "lq7Ax4eDvDaNhIeNBPAAGTdN1P8nOWPYcbvVlDR7494="),
        (
            "authorization",
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=D6/1pRT+DlxIJFdiCrHKI68kBuapzwMZs3XV7YxIUBA=",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let body = r#"{"token": "eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiJ4In0.sig", "appId": "11111111-1111-1111-1111-111111111111", "userId": "22222222-2222-2222-2222-222222222222"}"#;
    let request = Request {
        url: "https://contoso.communication.azure.com/teamsUser/:exchangeAccessToken?api-version=2023-10-01"
            .parse()
            .unwrap(),
        method: Method::POST,
        headers,
        body: body.as_bytes().to_vec(),
    };
    assert_signed_with(&request, &key_bytes());
}

#[tokio::test]
async fn hmac_headers_on_the_wire_verify_for_a_server_on_a_non_default_port() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    exchange(&client(config()), &server, &access_key()).await.unwrap();

    let calls = exchange_calls(&server).await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    let port = server.address().port();
    assert_ne!(port, 80);
    assert_eq!(header(call, "host"), Some(format!("127.0.0.1:{port}").as_str()));
    assert_signed_with(call, &key_bytes());
    let skew = SystemTime::now().duration_since(signed_at(call)).unwrap_or_default();
    assert!(skew < Duration::from_secs(60), "x-ms-date is not current: {skew:?}");
}

#[tokio::test]
async fn the_exchange_is_a_json_post_to_the_literal_colon_path_with_the_api_version() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    exchange(&client(config()), &server, &access_key()).await.unwrap();

    let call = &exchange_calls(&server).await[0];
    assert_eq!(call.method, Method::POST);
    assert_eq!(call.url.path(), "/teamsUser/:exchangeAccessToken");
    assert!(!call.url.as_str().contains("%3A"));
    assert_eq!(call.url.query(), Some("api-version=2023-10-01"));
    assert_eq!(header(call, "content-type"), Some("application/json"));
    assert_eq!(header(call, "accept"), Some("application/json"));
    assert!(header(call, "x-ms-client-request-id").is_some());
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body, json!({"token": ENTRA_TOKEN, "appId": APP_ID, "userId": USER_ID}));
}

#[tokio::test]
async fn the_configured_api_version_is_sent() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let config = AcsClientConfig { api_version: "2022-06-01".into(), ..config() };

    exchange(&client(config), &server, &access_key()).await.unwrap();

    assert_eq!(exchange_calls(&server).await[0].url.query(), Some("api-version=2022-06-01"));
}

#[tokio::test]
async fn a_successful_exchange_yields_the_token_and_its_seven_digit_offset_expiry() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2025-07-10T21:39:39.3244584+00:00"), None).await;

    let token = exchange(&client(config()), &server, &access_key()).await.unwrap();

    assert_eq!(token.token.expose_secret(), ACS_TOKEN);
    let expected =
        Utc.with_ymd_and_hms(2025, 7, 10, 21, 39, 39).unwrap() + chrono::Duration::nanoseconds(324_458_400);
    assert_eq!(token.expires_on, expected);
}

#[tokio::test]
async fn an_expiry_in_utc_with_z_is_understood() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    let token = exchange(&client(config()), &server, &access_key()).await.unwrap();

    assert_eq!(token.expires_on, Utc.with_ymd_and_hms(2026, 11, 22, 14, 3, 0).unwrap());
}

#[tokio::test]
async fn an_endpoint_with_a_trailing_slash_is_called_without_a_double_slash() {
    let server = MockServer::start().await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    exchange_at(&client(config()), &format!("{}/", server.uri()), &access_key()).await.unwrap();

    assert_eq!(exchange_calls(&server).await.len(), 1);
}
