//! `POST /teamsUser/:exchangeAccessToken`: the happy path and each of ACS's A1 rules.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use devstack::emulator::KEY_REFETCH_COOLDOWN;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::emulator_support::{
    TestStack,
    entra::{self, Signer},
    error_of,
};

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn the_exchange_returns_an_acs_token_expiring_with_the_entra_token() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let claims = entra::a1_claims(app_id, oid);
    let a1 = stack.entra.mint(&claims, Signer::Published);

    let response = stack.exchange(&json!({"token": a1, "appId": app_id, "userId": oid})).await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    let expected =
        chrono::DateTime::from_timestamp(exp, 0).unwrap().format("%Y-%m-%dT%H:%M:%S.0000000+00:00");
    assert_eq!(body["expiresOn"], expected.to_string());
    let d = payload(body["token"].as_str().unwrap());
    assert_eq!(d["skypeid"], format!("orgid:{oid}"));
    assert_eq!(d["exp"], exp);
    assert_eq!(d["resourceId"], stack.resource_id.to_string());
    let stats = stack.emulator.stats();
    assert_eq!((stats.exchanges, stats.exchange_attempts, stats.requests), (1, 1, 1));
    stack.stop().await;
}

#[tokio::test]
async fn v2_tokens_are_matched_on_azp_and_ids_compare_case_insensitively() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let mut claims = entra::a1_claims(app_id, oid);
    claims["ver"] = json!("2.0");
    claims["azp"] = claims["appid"].take();
    claims["aud"] = json!("1fd5118e-2576-4263-8130-9503064c837a");
    let a1 = stack.entra.mint(&claims, Signer::Published);
    let upper = |id: Uuid| id.to_string().to_uppercase();

    let response = stack.exchange(&json!({"token": a1, "appId": upper(app_id), "userId": upper(oid)})).await;

    assert_eq!(response.status(), StatusCode::OK);
    stack.stop().await;
}

#[tokio::test]
async fn app_and_user_ids_that_are_not_guids_are_400_with_their_target() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let a1 = stack.entra.mint(&entra::a1_claims(app_id, oid), Signer::Published);
    let cases = [
        (
            json!({"token": a1, "appId": "not-a-guid", "userId": oid}),
            "appId",
            "Provided AppId has invalid format.",
        ),
        (json!({"token": a1, "appId": "", "userId": oid}), "appId", "Provided AppId has invalid format."),
        (json!({"token": a1, "userId": oid}), "appId", "Provided AppId has invalid format."),
        (
            json!({"token": a1, "appId": app_id, "userId": "x"}),
            "userId",
            "Provided UserId has invalid format.",
        ),
    ];
    for (body, target, message) in cases {
        let (status, error) = error_of(stack.exchange(&body).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error, json!({"code": "ValidationError", "message": message, "target": target}));
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_token_of_another_app_or_user_is_400_naming_the_mismatched_field() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let a1 = stack.entra.mint(&entra::a1_claims(app_id, oid), Signer::Published);
    let cases = [
        (json!({"token": a1, "appId": Uuid::new_v4(), "userId": oid}), "appId"),
        (json!({"token": a1, "appId": app_id, "userId": Uuid::new_v4()}), "userId"),
    ];
    for (body, target) in cases {
        let (status, error) = error_of(stack.exchange(&body).await).await;
        assert_eq!(
            (status, error["code"].as_str(), error["target"].as_str()),
            (400, Some("ValidationError"), Some(target))
        );
    }
    assert_eq!(stack.emulator.stats().exchanges, 0);
    stack.stop().await;
}

#[tokio::test]
async fn unusable_entra_tokens_are_401_invalid_access_token() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let valid = entra::a1_claims(app_id, oid);
    let altered = |field: &str, value: Value| {
        let mut claims = valid.clone();
        claims[field] = value;
        claims
    };
    let mint = |claims: &Value| stack.entra.mint(claims, Signer::Published);
    let cases = [
        ("expired", mint(&altered("exp", json!(entra::now() - 600)))),
        ("not yet valid", mint(&altered("nbf", json!(entra::now() + 600)))),
        ("wrong audience", mint(&altered("aud", json!("https://graph.microsoft.com")))),
        ("bearer audience", mint(&altered("aud", json!(entra::BEARER_AUDIENCE)))),
        ("no audience", mint(&altered("aud", Value::Null))),
        ("missing ManageChats", mint(&altered("scp", json!("Teams.ManageCalls")))),
        ("missing ManageCalls", mint(&altered("scp", json!("Teams.ManageChats User.Read")))),
        ("app-only", mint(&altered("scp", Value::Null))),
        ("idtyp app", mint(&altered("idtyp", json!("app")))),
        ("forged signature", stack.entra.mint(&valid, Signer::Forger)),
        ("not a JWT", "garbage".to_owned()),
        ("empty", String::new()),
    ];
    for (case, token) in cases {
        let (status, error) =
            error_of(stack.exchange(&json!({"token": token, "appId": app_id, "userId": oid})).await).await;
        assert_eq!(status, 401, "{case}");
        assert_eq!(
            error,
            json!({"code": "InvalidAccessToken", "message": "Provided access token is not valid."}),
            "{case}"
        );
    }
    assert_eq!(stack.emulator.stats().invalid_access_tokens, 12);
    stack.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let stack = TestStack::start().await;
    let response =
        stack.signed(Method::POST, crate::emulator_support::EXCHANGE_PATH, "{nope").send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("ValidationError")));
    stack.stop().await;
}

#[tokio::test]
async fn only_the_literal_colon_path_is_the_exchange() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let a1 = stack.entra.mint(&entra::a1_claims(app_id, oid), Signer::Published);
    let body = json!({"token": a1, "appId": app_id, "userId": oid}).to_string();

    let without_colon = "/teamsUser/exchangeAccessToken?api-version=2023-10-01";
    let response = stack.signed(Method::POST, without_colon, body.clone()).send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("NotFound")));

    let wrong_method =
        stack.signed(Method::GET, crate::emulator_support::EXCHANGE_PATH, "").send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    stack.stop().await;
}

#[tokio::test]
async fn the_early_previews_exchange_the_token_alone() {
    let stack = TestStack::start().await;
    let a1 = stack.entra.mint(&entra::a1_claims(Uuid::new_v4(), Uuid::new_v4()), Signer::Published);
    let path = "/teamsUser/:exchangeAccessToken?api-version=2021-10-31-preview";
    let response = stack.signed(Method::POST, path, json!({"token": a1}).to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    stack.stop().await;
}

#[tokio::test]
async fn signing_keys_are_fetched_once_and_an_unknown_kid_refetches_at_most_once_per_cooldown() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let claims = entra::a1_claims(app_id, oid);
    let body = |token: String| json!({"token": token, "appId": app_id, "userId": oid});

    for _ in 0..3 {
        let response = stack.exchange(&body(stack.entra.mint(&claims, Signer::Published))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(stack.emulator.stats().key_fetches, 1);

    let unknown_kids = async || {
        for _ in 0..3 {
            let (status, _) =
                error_of(stack.exchange(&body(stack.entra.mint(&claims, Signer::UnknownKid))).await).await;
            assert_eq!(status, 401);
        }
    };
    // The emulator's clock stands still: every unknown kid falls inside the cool-down.
    unknown_kids().await;
    assert_eq!(stack.emulator.stats().key_fetches, 1, "no refetch within the cool-down");

    stack.emulator.clock().advance(KEY_REFETCH_COOLDOWN);
    unknown_kids().await;
    assert_eq!(stack.emulator.stats().key_fetches, 2, "one refetch once the cool-down is over");
    stack.stop().await;
}
