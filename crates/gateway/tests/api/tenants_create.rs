use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ACCESS_KEY, APP_ID, WEBHOOK_SECRET, assert_problem, etag, spawn_app, tenant_body, unique_slug,
};

#[tokio::test]
async fn creating_a_tenant_returns_201_with_location_etag_and_the_tenant() {
    let app = spawn_app().await;
    let slug = unique_slug();
    let response = app.create_tenant_with(&tenant_body(&slug)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["location"], format!("/admin/v1/tenants/{slug}"));
    assert_eq!(etag(&response), "\"1\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["slug"], slug);
    assert_eq!(body["displayName"], "Fabrikam Inc.");
    assert_eq!(body["status"], "active");
    assert_eq!(body["version"], 1);
    assert_eq!(
        body["entra"],
        json!({"authority": "tenant", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "allowedAppIds": [APP_ID]})
    );
    assert_eq!(body["limits"], json!({"exchangesPerSecond": 10, "burst": 20}));
    assert_eq!(body["acs"]["endpoint"], "https://fabrikam.communication.azure.com");
    assert_eq!(body["acs"]["credential"], "accessKey");
}

#[tokio::test]
async fn responses_show_fingerprints_and_never_the_secrets() {
    let app = spawn_app().await;
    let slug = unique_slug();
    let response = app.create_tenant_with(&tenant_body(&slug)).await;
    let text = response.text().await.unwrap();
    assert!(!text.contains(ACCESS_KEY), "{text}");
    assert!(!text.contains(WEBHOOK_SECRET), "{text}");
    assert!(!text.contains("connectionString") && !text.contains("accesskey"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let fingerprint = body["acs"]["keyFingerprint"].as_str().unwrap();
    assert!(fingerprint.starts_with("sha256:") && fingerprint.len() == 15, "{fingerprint}");
    assert!(body["authorization"]["secretFingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(body["authorization"]["timeoutMs"], 500);
    assert_eq!(body["authorization"]["cacheSeconds"], 60);
    let read = app.get_tenant(&slug).await.text().await.unwrap();
    assert!(!read.contains(ACCESS_KEY) && !read.contains(WEBHOOK_SECRET));
}

#[tokio::test]
async fn a_second_tenant_with_the_same_slug_is_a_409_conflict() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = app.create_tenant_with(&tenant_body(&slug)).await;
    assert_problem(response, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn an_organizations_tenant_with_a_client_secret_and_an_entra_policy_is_created() {
    let app = spawn_app().await;
    let mut body = tenant_body(&unique_slug());
    body["entra"] = json!({"authority": "organizations",
        "allowedTenantIds": ["aaaaaaaa-0000-0000-0000-000000000001", "AAAAAAAA-0000-0000-0000-000000000002"],
        "allowedAppIds": [APP_ID]});
    body["acs"] = json!({"endpoint": "https://fabrikam.communication.azure.com",
        "credential": {"type": "clientSecret", "tenantId": "bbbbbbbb-0000-0000-0000-000000000001",
                       "clientId": "cccccccc-0000-0000-0000-000000000001", "clientSecret": "s3cr3t-value"}});
    body["authorization"] =
        json!({"type": "entra", "audience": "api://contoso", "requiredScopes": ["access_as_user"]});
    let response = app.create_tenant_with(&body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert!(!text.contains("s3cr3t-value"));
    let tenant: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(tenant["entra"]["authority"], "organizations");
    assert_eq!(tenant["entra"]["allowedTenantIds"][1], "aaaaaaaa-0000-0000-0000-000000000002");
    assert!(tenant["entra"].get("tenantId").is_none());
    assert_eq!(tenant["acs"]["credential"], "clientSecret");
    assert_eq!(tenant["acs"]["clientId"], "cccccccc-0000-0000-0000-000000000001");
    assert_eq!(
        tenant["authorization"],
        json!({"type": "entra", "audience": "api://contoso", "requiredScopes": ["access_as_user"]})
    );
}

#[tokio::test]
async fn jwt_and_none_policies_are_created_with_defaults() {
    let app = spawn_app().await;
    let mut body = tenant_body(&unique_slug());
    body["authorization"] = json!({"type": "jwt", "issuer": "https://auth.contoso.example", "audience": "contoso-api",
        "jwksUri": "https://auth.contoso.example/keys", "requiredClaims": {"role": "caller"}});
    body.as_object_mut().unwrap().remove("limits");
    let tenant: Value = app.create_tenant_with(&body).await.json().await.unwrap();
    assert_eq!(tenant["authorization"]["userClaim"], "oid");
    assert_eq!(tenant["authorization"]["jwksUri"], "https://auth.contoso.example/keys");
    assert_eq!(tenant["authorization"]["requiredClaims"], json!({"role": "caller"}));
    assert_eq!(tenant["limits"], json!({"exchangesPerSecond": 16, "burst": 20}));

    let mut body = tenant_body(&unique_slug());
    body["authorization"] = json!({"type": "none"});
    let tenant: Value = app.create_tenant_with(&body).await.json().await.unwrap();
    assert_eq!(tenant["authorization"], json!({"type": "none"}));
}

#[tokio::test]
async fn the_tenant_listed_after_creation_is_the_one_created() {
    let app = spawn_app().await;
    let (slug, created) = app.create_tenant().await;
    let list: Value = app.admin(Method::GET, "/admin/v1/tenants").send().await.unwrap().json().await.unwrap();
    assert_eq!(list["items"][0]["slug"], slug);
    assert_eq!(list["items"][0], created);
}
