//! Communication identities: create, issue, revoke, delete, over percent-encoded ids.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::emulator_support::{TestStack, error_of};

/// The id as the SDKs put it in a path: `:` percent-encoded.
fn encoded(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

async fn create(stack: &TestStack, body: &str) -> Value {
    let response =
        stack.signed(Method::POST, "/identities?api-version=2023-10-01", body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn issue(stack: &TestStack, id: &str, version: &str, body: Value) -> reqwest::Response {
    let path = format!("/identities/{}/:issueAccessToken?api-version={version}", encoded(id));
    stack.signed(Method::POST, &path, body.to_string()).send().await.unwrap()
}

#[tokio::test]
async fn an_identity_is_created_without_a_token_unless_scopes_are_asked_for() {
    let stack = TestStack::start().await;
    let plain = create(&stack, "").await;
    let id = plain["identity"]["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("8:acs:{}_", stack.resource_id)), "{id}");
    assert!(plain.get("accessToken").is_none(), "{plain}");

    let with_token =
        create(&stack, r#"{"createTokenWithScopes": ["chat", "voip"], "expiresInMinutes": 60}"#).await;
    assert!(with_token["accessToken"]["token"].is_string(), "{with_token}");
    assert!(with_token["accessToken"]["expiresOn"].as_str().unwrap().ends_with(".0000000+00:00"));
    assert_eq!(stack.emulator.stats().create_identity, 2);
    stack.stop().await;
}

#[tokio::test]
async fn an_identity_lives_through_issue_revoke_and_delete() {
    let stack = TestStack::start().await;
    let id = create(&stack, "").await["identity"]["id"].as_str().unwrap().to_owned();

    let issued =
        issue(&stack, &id, "2023-10-01", json!({"scopes": ["voip", "chat.join"], "expiresInMinutes": 90}))
            .await;
    assert_eq!(issued.status(), StatusCode::OK);
    let token: Value = issued.json().await.unwrap();
    assert!(token["token"].is_string() && token["expiresOn"].is_string(), "{token}");

    let revoke = format!("/identities/{}/:revokeAccessTokens?api-version=2023-10-01", encoded(&id));
    assert_eq!(
        stack.signed(Method::POST, &revoke, "").send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );

    let delete = format!("/identities/{}?api-version=2023-10-01", encoded(&id));
    assert_eq!(
        stack.signed(Method::DELETE, &delete, "").send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );

    let (status, error) = error_of(issue(&stack, &id, "2023-10-01", json!({"scopes": ["chat"]})).await).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("IdentityNotFound")));
    let (status, _) = error_of(stack.signed(Method::DELETE, &delete, "").send().await.unwrap()).await;
    assert_eq!(status, 404);
    let (status, _) = error_of(stack.signed(Method::POST, &revoke, "").send().await.unwrap()).await;
    assert_eq!(status, 404);

    let stats = stack.emulator.stats();
    assert_eq!((stats.issue_token, stats.revoke, stats.delete), (1, 1, 1));
    stack.stop().await;
}

#[tokio::test]
async fn another_resources_identity_is_401_identity_not_owned() {
    let stack = TestStack::start().await;
    let foreign = format!("8:acs:{}_{}", Uuid::new_v4(), Uuid::new_v4());
    let (status, error) =
        error_of(issue(&stack, &foreign, "2023-10-01", json!({"scopes": ["chat"]})).await).await;
    assert_eq!(status, 401);
    assert_eq!(error["code"], "IdentityNotOwned");
    assert_eq!(error["message"], "Provided identity doesn't belong to the resource.");
    stack.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_identities_are_404_and_400() {
    let stack = TestStack::start().await;
    let unknown = format!("8:acs:{}_{}", stack.resource_id, Uuid::new_v4());
    let (status, error) =
        error_of(issue(&stack, &unknown, "2023-10-01", json!({"scopes": ["chat"]})).await).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("IdentityNotFound")));

    let (status, error) =
        error_of(issue(&stack, "8:orgid:someone", "2023-10-01", json!({"scopes": ["chat"]})).await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["target"].as_str()),
        (400, Some("ValidationError"), Some("id"))
    );
    stack.stop().await;
}

#[tokio::test]
async fn issue_requests_with_bad_scopes_or_lifetimes_are_400_with_their_target() {
    let stack = TestStack::start().await;
    let id = create(&stack, "").await["identity"]["id"].as_str().unwrap().to_owned();
    let cases = [
        ("2023-10-01", json!({}), "scopes"),
        ("2023-10-01", json!({"scopes": []}), "scopes"),
        ("2023-10-01", json!({"scopes": ["teleport"]}), "scopes"),
        ("2023-08-01", json!({"scopes": ["chat.join"]}), "scopes"),
        ("2023-10-01", json!({"scopes": ["chat"], "expiresInMinutes": 59}), "expiresInMinutes"),
        ("2023-10-01", json!({"scopes": ["chat"], "expiresInMinutes": 1441}), "expiresInMinutes"),
    ];
    for (version, body, target) in cases {
        let (status, error) = error_of(issue(&stack, &id, version, body.clone()).await).await;
        assert_eq!((status, error["target"].as_str()), (400, Some(target)), "{body}");
    }
    assert_eq!(stack.emulator.stats().bad_requests, 6);
    stack.stop().await;
}
