//! The bearer (client secret) credential: token fetched from Entra once, cached, sent as `Bearer`.

use std::{collections::HashMap, time::Duration};

use acs::{
    AcsError, BreakerState, ClientSecretCredential, Credential, TokenEndpointError, UpstreamKind, UserRefusal,
};
use serde_json::json;
use url::Url;
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

use crate::helpers::*;

const ENTRA_TENANT: &str = "33333333-3333-3333-3333-333333333333";
const TOKEN_PATH: &str = "/33333333-3333-3333-3333-333333333333/oauth2/v2.0/token";
const CLIENT_ID: &str = "44444444-4444-4444-4444-444444444444";
const CLIENT_SECRET: &str = "client-secret-value~123";
const BEARER: &str = "entra-bearer-token-for-acs";

fn principal(server: &MockServer) -> Credential {
    Credential::ClientSecret(ClientSecretCredential {
        authority_host: Url::parse(&server.uri()).unwrap(),
        tenant_id: ENTRA_TENANT.into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    })
}

async fn answer_token_endpoint(server: &MockServer, template: ResponseTemplate) {
    Mock::given(method("POST")).and(path(TOKEN_PATH)).respond_with(template).mount(server).await;
}

fn bearer_token(expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": BEARER
    }))
}

async fn token_calls(server: &MockServer) -> Vec<Request> {
    let all = server.received_requests().await.unwrap();
    all.into_iter().filter(|r| r.url.path() == TOKEN_PATH).collect()
}

#[tokio::test]
async fn the_token_is_fetched_once_and_sent_as_bearer_on_later_exchanges() {
    let server = MockServer::start().await;
    answer_token_endpoint(&server, bearer_token(3599)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let (client, credential) = (client(config()), principal(&server));

    exchange(&client, &server, &credential).await.unwrap();
    exchange(&client, &server, &credential).await.unwrap();

    assert_eq!(token_calls(&server).await.len(), 1);
    let calls = exchange_calls(&server).await;
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(header(call, "authorization"), Some(format!("Bearer {BEARER}").as_str()));
        assert_eq!(header(call, "x-ms-date"), None);
        assert_eq!(header(call, "x-ms-content-sha256"), None);
    }
}

#[tokio::test]
async fn the_token_request_uses_client_credentials_for_the_acs_scope() {
    let server = MockServer::start().await;
    answer_token_endpoint(&server, bearer_token(3599)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;

    exchange(&client(config()), &server, &principal(&server)).await.unwrap();

    let call = &token_calls(&server).await[0];
    assert_eq!(header(call, "content-type"), Some("application/x-www-form-urlencoded"));
    let form: HashMap<String, String> = url::form_urlencoded::parse(&call.body).into_owned().collect();
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(form["scope"], "https://communication.azure.com//.default");
}

#[tokio::test]
async fn concurrent_exchanges_share_one_token_fetch() {
    let server = MockServer::start().await;
    answer_token_endpoint(&server, bearer_token(3599).set_delay(Duration::from_millis(200))).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let (client, credential) = (client(config()), principal(&server));

    let (a, b, c) = tokio::join!(
        exchange(&client, &server, &credential),
        exchange(&client, &server, &credential),
        exchange(&client, &server, &credential),
    );

    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(token_calls(&server).await.len(), 1);
}

#[tokio::test]
async fn a_token_endpoint_refusal_is_a_token_endpoint_error_and_acs_is_not_called() {
    let server = MockServer::start().await;
    let refusal = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."});
    answer_token_endpoint(&server, ResponseTemplate::new(401).set_body_json(refusal)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let recorder = Recorder::default();
    let client = client(recorder.install(config()));

    let error = exchange(&client, &server, &principal(&server)).await.unwrap_err();

    assert!(
        matches!(&error, AcsError::TokenEndpoint(TokenEndpointError::Rejected { status: 401, error: Some(e) }) if e == "invalid_client"),
        "{error:?}"
    );
    assert!(!error.to_string().contains(CLIENT_SECRET));
    assert!(exchange_calls(&server).await.is_empty());
    assert_eq!(recorder.calls(), [(UpstreamKind::EntraToken, 1, "401".to_owned())]);
    assert_eq!(client.breaker_state(TENANT), BreakerState::Closed);
}

#[tokio::test]
async fn acs_rejecting_the_bearer_token_drops_it_from_the_cache() {
    let server = MockServer::start().await;
    answer_token_endpoint(&server, bearer_token(3599)).await;
    answer_exchange(&server, acs_error(403, "Forbidden", "No role assignment.", None), None).await;
    let (client, credential) = (client(config()), principal(&server));

    for _ in 0..2 {
        let error = exchange(&client, &server, &credential).await.unwrap_err();
        assert!(matches!(error, AcsError::CredentialRejected { status: 403, .. }), "{error:?}");
    }

    assert_eq!(token_calls(&server).await.len(), 2);
}

#[tokio::test]
async fn a_users_refusal_keeps_the_bearer_token_while_an_unknown_403_drops_it() {
    let server = MockServer::start().await;
    answer_token_endpoint(&server, bearer_token(3599)).await;
    answer_exchange(&server, unlicensed_user(), Some(2)).await;
    answer_exchange(&server, acs_error(403, "Forbidden", "No role assignment.", None), None).await;
    let (client, credential) = (client(config()), principal(&server));

    for _ in 0..2 {
        let error = exchange(&client, &server, &credential).await.unwrap_err();
        assert!(matches!(error, AcsError::UserRefused(UserRefusal::TeamsLicenseMissing)), "{error:?}");
    }
    assert_eq!(token_calls(&server).await.len(), 1, "the user's refusals keep the token");

    for _ in 0..2 {
        let error = exchange(&client, &server, &credential).await.unwrap_err();
        assert!(matches!(error, AcsError::CredentialRejected { status: 403, .. }), "{error:?}");
    }
    assert_eq!(token_calls(&server).await.len(), 2, "an unknown 403 drops the token");
    assert_eq!(exchange_calls(&server).await.len(), 4);
}

#[tokio::test]
async fn forgetting_a_tenant_drops_its_bearer_token() {
    let server = MockServer::start().await;
    answer_token_endpoint(&server, bearer_token(3599)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let (client, credential) = (client(config()), principal(&server));
    exchange(&client, &server, &credential).await.unwrap();

    client.forget_tenant(TENANT);
    exchange(&client, &server, &credential).await.unwrap();

    assert_eq!(token_calls(&server).await.len(), 2);
}
