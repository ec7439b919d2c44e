//! Answers that are not about the caller's credentials: the dev issuer's keys out of reach (503),
//! and bodies over the size limit (413), all in ACS's error shape.

use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use crate::emulator_support::{
    EXCHANGE_PATH, TestStack,
    entra::{self, Signer},
    error_of,
};

const CREATE_PATH: &str = "/identities?api-version=2023-10-01";

#[tokio::test]
async fn a_bearer_token_is_answered_503_while_the_issuers_keys_cannot_be_fetched() {
    let stack = TestStack::start().await;
    let token = stack.entra.mint(&entra::bearer_claims(), Signer::Published);
    stack.entra.stop().await;

    let response = stack.client.post(stack.url(CREATE_PATH)).bearer_auth(token).send().await.unwrap();

    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (503, Some("ServiceUnavailable")), "{error}");
    assert!(error["message"].as_str().unwrap().contains("signing keys"), "{error}");
    let stats = stack.emulator.stats();
    assert_eq!((stats.auth_failures, stats.bearer_authenticated), (0, 0), "not the caller's fault");
    stack.emulator.stop().await;
}

#[tokio::test]
async fn an_exchange_is_answered_503_while_the_issuers_keys_cannot_be_fetched() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let a1 = stack.entra.mint(&entra::a1_claims(app_id, oid), Signer::Published);
    stack.entra.stop().await;

    let response = stack.exchange(&json!({"token": a1, "appId": app_id, "userId": oid})).await;

    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (503, Some("ServiceUnavailable")), "{error}");
    assert_eq!(stack.emulator.stats().invalid_access_tokens, 0, "the token was not judged");
    stack.emulator.stop().await;
}

#[tokio::test]
async fn a_body_over_one_mib_is_refused_with_413_in_acs_error_shape() {
    let stack = TestStack::start().await;
    let oversized = vec![b' '; (1 << 20) + 1];
    let requests = [
        stack.signed(Method::POST, EXCHANGE_PATH, oversized.clone()),
        stack.signed(Method::POST, CREATE_PATH, oversized.clone()),
        stack
            .client
            .post(stack.url("/dev/faults"))
            .header("Content-Type", "application/json")
            .body(oversized),
    ];
    for request in requests {
        let (status, error) = error_of(request.send().await.unwrap()).await;
        assert_eq!((status, error["code"].as_str()), (413, Some("RequestEntityTooLarge")), "{error}");
    }
    let exactly_the_limit = format!("{{}}{}", " ".repeat((1 << 20) - 2));
    let response = stack.signed(Method::POST, CREATE_PATH, exactly_the_limit).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    stack.stop().await;
}
