use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, etag, spawn_app};

const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

#[tokio::test]
async fn putting_a_new_connection_string_rotates_the_key_and_bumps_the_version() {
    let app = spawn_app().await;
    let (slug, before) = app.create_tenant().await;
    let response = app
        .admin(Method::PUT, &format!("/admin/v1/tenants/{slug}/acs"))
        .header("if-match", "\"1\"")
        .json(&json!({"connectionString": format!("endpoint=https://fabrikam-eu.communication.azure.com/;accesskey={NEW_KEY}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(etag(&response), "\"2\"");
    let text = response.text().await.unwrap();
    assert!(!text.contains(NEW_KEY));
    let after: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(after["acs"]["endpoint"], "https://fabrikam-eu.communication.azure.com");
    assert_ne!(after["acs"]["keyFingerprint"], before["acs"]["keyFingerprint"]);
    assert_eq!(after["authorization"], before["authorization"]);
}

#[tokio::test]
async fn putting_a_connection_with_a_stale_etag_is_a_412() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = app
        .admin(Method::PUT, &format!("/admin/v1/tenants/{slug}/acs"))
        .header("if-match", "\"7\"")
        .json(&json!({"connectionString": format!("endpoint=https://x.communication.azure.com/;accesskey={NEW_KEY}")}))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
}

#[tokio::test]
async fn an_invalid_connection_is_refused_with_its_field() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    for (body, field) in [
        (json!({"connectionString": "endpoint=https://x.communication.azure.com/"}), "/connectionString"),
        (json!({"endpoint": "https://x.communication.azure.com"}), "/credential"),
        (json!({}), ""),
        (json!({"accessKey": NEW_KEY}), "/accessKey"),
    ] {
        let response = app
            .admin(Method::PUT, &format!("/admin/v1/tenants/{slug}/acs"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
        assert!(!problem.to_string().contains(NEW_KEY));
    }
}

#[tokio::test]
async fn switching_to_an_entra_credential_shows_its_ids_but_not_its_secret() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let body = json!({"endpoint": "https://x.communication.azure.com",
        "credential": {"type": "clientSecret", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                       "clientId": "cccccccc-0000-0000-0000-000000000001", "clientSecret": "the-client-secret"}});
    let response =
        app.admin(Method::PUT, &format!("/admin/v1/tenants/{slug}/acs")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains("the-client-secret"));
    let after: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(after["acs"]["credential"], "clientSecret");
    assert_eq!(after["acs"]["tenantId"], "72f988bf-86f1-41af-91ab-2d7cd011db47");
}
