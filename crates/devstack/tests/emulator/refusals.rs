//! Per-user refusals: `POST /dev/users/{oid}/refusal` (or `set_refusal`) makes the emulator answer that
//! user's exchanges as ACS answers a user without Teams, and only that user's.

use devstack::emulator::Refusal;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::emulator_support::{
    TestStack,
    entra::{self, Signer},
    error_of,
};

fn refusal_url(stack: &TestStack, oid: &str) -> String {
    stack.url(&format!("/dev/users/{oid}/refusal"))
}

/// A signed exchange of a good A1 for `oid`.
async fn exchange_for(stack: &TestStack, app_id: Uuid, oid: Uuid) -> reqwest::Response {
    let a1 = stack.entra.mint(&entra::a1_claims(app_id, oid), Signer::Published);
    stack.exchange(&json!({"token": a1, "appId": app_id, "userId": oid})).await
}

#[tokio::test]
async fn a_refused_user_gets_acs_403_user_license_not_present_and_other_users_still_get_tokens() {
    let stack = TestStack::start().await;
    let (app_id, refused, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let body = json!({"code": "UserLicenseNotPresentForbidden"});

    let set = stack.client.post(refusal_url(&stack, &refused.to_string())).json(&body).send().await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(set.json::<Value>().await.unwrap(), body);

    let response = exchange_for(&stack, app_id, refused).await;
    assert!(response.headers().get("ms-cv").is_some(), "ACS's headers as on every answer");
    let (status, error) = error_of(response).await;
    let message = "User Login. Teams is disabled in user licenses";
    assert_eq!(status, 403);
    assert_eq!(error, json!({"code": "UserLicenseNotPresentForbidden", "message": message}));
    assert_eq!(exchange_for(&stack, app_id, other).await.status(), StatusCode::OK);
    let stats = stack.emulator.stats();
    assert_eq!((stats.user_refusals, stats.exchanges, stats.exchange_attempts), (1, 1, 2));
    stack.stop().await;
}

#[tokio::test]
async fn every_refusal_code_is_answered_with_403_and_that_code() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    for refusal in Refusal::ALL {
        stack.emulator.set_refusal(oid, Some(refusal));
        let (status, error) = error_of(exchange_for(&stack, app_id, oid).await).await;
        assert_eq!((status, error["code"].as_str()), (403, Some(refusal.code())));
    }
    assert_eq!(stack.emulator.stats().user_refusals, 2);
    stack.stop().await;
}

#[tokio::test]
async fn a_bad_a1_is_still_401_for_a_refused_user_because_acs_checks_the_token_first() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    stack.emulator.set_refusal(oid, Some(Refusal::UserLicenseNotPresentForbidden));
    let forged = stack.entra.mint(&entra::a1_claims(app_id, oid), Signer::Forger);

    let (status, error) =
        error_of(stack.exchange(&json!({"token": forged, "appId": app_id, "userId": oid})).await).await;

    assert_eq!((status, error["code"].as_str()), (401, Some("InvalidAccessToken")));
    assert_eq!(stack.emulator.stats().user_refusals, 0);
    stack.stop().await;
}

#[tokio::test]
async fn a_refusal_is_read_back_and_lifted_over_http() {
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let url = refusal_url(&stack, &oid.to_string());
    let body = json!({"code": "TeamsDisabledForTenantForbidden"});
    stack.client.post(&url).json(&body).send().await.unwrap();

    let read = stack.client.get(&url).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<Value>().await.unwrap(), body);

    let lifted = stack.client.delete(&url).send().await.unwrap();
    assert_eq!(lifted.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_of(stack.client.get(&url).send().await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("NotFound")));
    assert_eq!(exchange_for(&stack, app_id, oid).await.status(), StatusCode::OK);
    assert_eq!(
        stack.client.delete(&url).send().await.unwrap().status(),
        StatusCode::NO_CONTENT,
        "idempotent"
    );
    stack.stop().await;
}

#[tokio::test]
async fn an_unknown_code_or_a_user_id_that_is_not_a_guid_is_400_and_changes_nothing() {
    let stack = TestStack::start().await;
    let oid = Uuid::new_v4().to_string();
    let cases = [
        (refusal_url(&stack, &oid), json!({"code": "Forbidden"}), None),
        (refusal_url(&stack, &oid), json!({"code": "UserLicenseNotPresentForbidden", "status": 401}), None),
        (refusal_url(&stack, "not-a-guid"), json!({"code": "UserLicenseNotPresentForbidden"}), Some("oid")),
    ];
    for (url, body, target) in cases {
        let (status, error) = error_of(stack.client.post(&url).json(&body).send().await.unwrap()).await;
        assert_eq!((status, error["code"].as_str()), (400, Some("ValidationError")), "{body}");
        assert_eq!(error["target"].as_str(), target, "{body}");
    }
    let (status, _) = error_of(stack.client.get(refusal_url(&stack, &oid)).send().await.unwrap()).await;
    assert_eq!(status, 404, "nothing was set");
    stack.stop().await;
}
