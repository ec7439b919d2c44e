//! HMAC and bearer authentication, `api-version`, and the headers every Identity response carries.

use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::emulator_support::{
    EXCHANGE_PATH, TestStack,
    entra::{self, Signer},
    error_of, signing,
};

const CREATE_PATH: &str = "/identities?api-version=2023-10-01";

#[test]
fn the_test_signer_reproduces_the_reference_exchange_vector() {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let key = STANDARD.decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let body = br#"{"token": "eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiJ4In0.sig", "appId": "11111111-1111-1111-1111-111111111111", "userId": "22222222-2222-2222-2222-222222222222"}"#;
    let at = httpdate::parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT").unwrap();
    let signed = signing::sign(&key, "POST", EXCHANGE_PATH, "contoso.communication.azure.com", body, at);
    assert_eq!(signed.content_sha256, "lq7Ax4eDvDaNhIeNBPAAGTdN1P8nOWPYcbvVlDR7494=");
    assert!(signed.authorization.ends_with("&Signature=D6/1pRT+DlxIJFdiCrHKI68kBuapzwMZs3XV7YxIUBA="));
}

#[tokio::test]
async fn a_correctly_signed_request_is_accepted() {
    let stack = TestStack::start().await;
    let response = stack.signed(Method::POST, CREATE_PATH, "").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(stack.emulator.stats().hmac_authenticated, 1);
    stack.stop().await;
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused_with_401() {
    let stack = TestStack::start().await;
    let other_key = [9u8; 32];
    let response =
        stack.signed_with(&other_key, SystemTime::now(), Method::POST, CREATE_PATH, "").send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("InvalidAuthentication")));
    assert!(error["message"].as_str().unwrap().contains("signature"), "{error}");
    assert_eq!(stack.emulator.stats().auth_failures, 1);
    stack.stop().await;
}

#[tokio::test]
async fn a_stale_x_ms_date_is_refused_with_401() {
    let stack = TestStack::start().await;
    let ten_minutes_ago = SystemTime::now() - Duration::from_secs(600);
    let response =
        stack.signed_with(&stack.key, ten_minutes_ago, Method::POST, CREATE_PATH, "").send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("InvalidAuthentication")));
    assert!(error["message"].as_str().unwrap().contains("x-ms-date"), "{error}");
    stack.stop().await;
}

#[tokio::test]
async fn a_body_changed_after_signing_is_refused_with_401() {
    let stack = TestStack::start().await;
    let signed = json!({"token": "t", "appId": Uuid::new_v4(), "userId": Uuid::new_v4()}).to_string();
    let request =
        stack.signed(Method::POST, EXCHANGE_PATH, signed.clone()).body(signed.replace("\"t\"", "\"u\""));
    let (status, error) = error_of(request.send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("InvalidAuthentication")));
    assert!(error["message"].as_str().unwrap().contains("x-ms-content-sha256"), "{error}");
    stack.stop().await;
}

#[tokio::test]
async fn a_request_signed_for_another_path_or_host_is_refused() {
    let stack = TestStack::start().await;
    let headers = signing::sign(
        &stack.key,
        "POST",
        "/identities?api-version=2022-10-01",
        stack.host(),
        b"",
        SystemTime::now(),
    );
    let other_path = stack
        .client
        .post(stack.url(CREATE_PATH))
        .header("x-ms-date", &headers.date)
        .header("x-ms-content-sha256", &headers.content_sha256)
        .header("Authorization", &headers.authorization);
    assert_eq!(other_path.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let slashed_host = format!("{}/", stack.host());
    let headers = signing::sign(&stack.key, "POST", CREATE_PATH, &slashed_host, b"", SystemTime::now());
    let other_host = stack
        .client
        .post(stack.url(CREATE_PATH))
        .header("x-ms-date", &headers.date)
        .header("x-ms-content-sha256", &headers.content_sha256)
        .header("Authorization", &headers.authorization);
    assert_eq!(other_host.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    stack.stop().await;
}

#[tokio::test]
async fn a_request_without_credentials_is_refused_before_anything_else() {
    let stack = TestStack::start().await;
    let response = stack.client.post(stack.url("/identities")).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (401, Some("InvalidAuthentication")));
    assert!(error["message"].as_str().unwrap().contains("Authorization"), "{error}");
    stack.stop().await;
}

#[tokio::test]
async fn a_missing_or_unknown_api_version_is_400() {
    let stack = TestStack::start().await;
    let cases = [
        ("/identities", "MissingApiVersionParameter"),
        ("/identities?api-version=", "MissingApiVersionParameter"),
        ("/identities?api-version=2099-01-01", "UnsupportedApiVersion"),
        ("/teamsUser/:exchangeAccessToken?api-version=2021-03-07", "UnsupportedApiVersion"),
    ];
    for (path, code) in cases {
        let (status, error) = error_of(stack.signed(Method::POST, path, "{}").send().await.unwrap()).await;
        assert_eq!(
            (status, error["code"].as_str(), error["target"].as_str()),
            (400, Some(code), Some("api-version"))
        );
    }
    stack.stop().await;
}

#[tokio::test]
async fn every_identity_response_carries_ms_cv_supported_versions_and_the_client_request_id() {
    let stack = TestStack::start().await;
    for path in [CREATE_PATH, "/identities"] {
        let response = stack
            .signed(Method::POST, path, "")
            .header("x-ms-client-request-id", "req-42")
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert!(headers.get("ms-cv").is_some_and(|cv| cv.len() > 10), "{headers:?}");
        let supported = headers.get("api-supported-versions").unwrap().to_str().unwrap();
        assert!(supported.contains("2023-10-01") && supported.contains("2021-03-07"), "{supported}");
        assert_eq!(headers.get("x-ms-client-request-id").unwrap(), "req-42");
    }
    let exchange = stack.signed(Method::POST, EXCHANGE_PATH, "{}").send().await.unwrap();
    let supported = exchange.headers().get("api-supported-versions").unwrap().to_str().unwrap();
    assert!(!supported.contains("2021-03-07"), "{supported}");
    stack.stop().await;
}

#[tokio::test]
async fn a_bearer_token_of_the_dev_issuer_for_acs_is_accepted() {
    let stack = TestStack::start().await;
    for audience in [entra::BEARER_AUDIENCE, "https://communication.azure.com"] {
        let mut claims = entra::bearer_claims();
        claims["aud"] = json!(audience);
        let token = stack.entra.mint(&claims, Signer::Published);
        let response = stack.client.post(stack.url(CREATE_PATH)).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{audience}");
    }
    assert_eq!(stack.emulator.stats().bearer_authenticated, 2);
    stack.stop().await;
}

#[tokio::test]
async fn forged_expired_or_misaddressed_bearer_tokens_are_refused() {
    let stack = TestStack::start().await;
    let valid = entra::bearer_claims();
    let mut expired = valid.clone();
    expired["exp"] = json!(entra::now() - 600);
    let mut other_audience = valid.clone();
    other_audience["aud"] = json!(entra::A1_AUDIENCE);
    let cases = [
        ("forged", stack.entra.mint(&valid, Signer::Forger)),
        ("expired", stack.entra.mint(&expired, Signer::Published)),
        ("other audience", stack.entra.mint(&other_audience, Signer::Published)),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (case, token) in cases {
        let response = stack.client.post(stack.url(CREATE_PATH)).bearer_auth(token).send().await.unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["code"].as_str()), (401, Some("InvalidAuthentication")), "{case}");
    }
    stack.stop().await;
}
