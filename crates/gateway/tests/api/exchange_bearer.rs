//! The Entra bearer credential towards ACS, end to end: the gateway gets an app-only token from the
//! dev issuer's client-credentials endpoint and the ACS emulator accepts it, with no access key.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{TestApp, assert_problem},
    upstreams::{Upstreams, spawn_exchange_app},
};

/// The secret the gateway's service principal is registered with at the dev issuer.
const SECRET: &str = "dev-client-secret-for-the-bearer-credential";

/// Registers a confidential client at the dev issuer and creates a gateway tenant whose ACS
/// credential is that client's secret (`sent_secret`, which may differ from the registered one).
async fn bearer_tenant(app: &TestApp, up: &Upstreams, sent_secret: &str) -> String {
    let (tenant, client) = (Uuid::new_v4(), Uuid::new_v4());
    up.issuer.issuer().register_client(tenant, client, SECRET);
    let acs = json!({"acs": {
        "connectionString": null,
        "endpoint": up.acs.endpoint(),
        "credential": {
            "type": "clientSecret",
            "tenantId": tenant.to_string(),
            "clientId": client.to_string(),
            "clientSecret": sent_secret,
        },
    }});
    app.create_exchange_tenant(up, &acs).await
}

/// The emulator's counters as its `/dev/stats` endpoint reports them.
async fn emulator_stats(up: &Upstreams) -> Value {
    let response =
        crate::helpers::http_client().get(format!("{}/dev/stats", up.acs.endpoint())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_exchange_with_an_entra_client_secret_credential_reaches_acs_with_a_bearer_token() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = bearer_tenant(&app, &up, SECRET).await;

    let response = app.exchange(&slug, &up.a1(), None).await;

    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let stats = emulator_stats(&up).await;
    assert_eq!(stats["exchanges"], 1, "{stats}");
    assert_eq!(stats["bearerAuthenticated"], 1, "{stats}");
    assert_eq!(stats["hmacAuthenticated"], 0, "{stats}");
    assert_eq!(stats["authFailures"], 0, "{stats}");
}

#[tokio::test]
async fn an_exchange_with_a_wrong_client_secret_fails_at_the_issuer_and_never_reaches_acs() {
    let (app, up) = spawn_exchange_app(&[]).await;
    let slug = bearer_tenant(&app, &up, "not-the-registered-secret").await;

    let response = app.exchange(&slug, &up.a1(), None).await;

    let body = assert_problem(response, StatusCode::BAD_GATEWAY, "upstream_error").await;
    assert!(!body.to_string().contains("not-the-registered-secret"), "the secret is never echoed");
    let stats = emulator_stats(&up).await;
    assert_eq!(stats["requests"], 0, "{stats}");
    assert_eq!(up.acs_exchanges(), 0);
}
