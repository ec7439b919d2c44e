//! Every validation rule of the tenant resource, each answered with a pointer to its field.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ACCESS_KEY, assert_problem, spawn_app, tenant_body, unique_slug};

/// Applies `change` (a JSON merge patch) to a valid body.
fn body_with(change: &Value) -> Value {
    let mut body = tenant_body(&unique_slug());
    json_patch::merge(&mut body, change);
    body
}

fn cs(value: &str) -> Value {
    json!({"acs": {"connectionString": value}})
}

#[tokio::test]
async fn each_invalid_field_is_a_422_naming_that_field() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"slug": "Bad_Slug"}), "/slug"),
        (json!({"slug": "ab"}), "/slug"),
        (json!({"displayName": "  "}), "/displayName"),
        (json!({"displayName": "x".repeat(201)}), "/displayName"),
        (json!({"status": "paused"}), "/status"),
        (json!({"entra": {"authority": "common"}}), "/entra/authority"),
        (json!({"entra": {"tenantId": "not-a-guid"}}), "/entra/tenantId"),
        (json!({"entra": {"tenantId": "9188040d-6c67-4c5b-b112-36a304b66dad"}}), "/entra/tenantId"),
        (json!({"entra": {"tenantId": null}}), "/entra/tenantId"),
        (
            json!({"entra": {"allowedTenantIds": ["72f988bf-86f1-41af-91ab-2d7cd011db47"]}}),
            "/entra/allowedTenantIds",
        ),
        (json!({"entra": {"authority": "organizations", "tenantId": null}}), "/entra/allowedTenantIds"),
        (
            json!({"entra": {"authority": "organizations", "tenantId": null, "allowedTenantIds": []}}),
            "/entra/allowedTenantIds",
        ),
        (
            json!({"entra": {"authority": "organizations", "tenantId": null, "allowedTenantIds": ["nope"]}}),
            "/entra/allowedTenantIds/0",
        ),
        (
            json!({"entra": {"authority": "organizations", "allowedTenantIds": ["72f988bf-86f1-41af-91ab-2d7cd011db47"]}}),
            "/entra/tenantId",
        ),
        (
            json!({"entra": {"authority": "organizations", "tenantId": null, "allowedTenantIds": ["9188040d-6c67-4c5b-b112-36a304b66dad"]}}),
            "/entra/allowedTenantIds/0",
        ),
        (json!({"entra": {"allowedAppIds": []}}), "/entra/allowedAppIds"),
        (
            json!({"entra": {"allowedAppIds": ["{11111111-2222-3333-4444-555555555555}"]}}),
            "/entra/allowedAppIds/0",
        ),
        (cs(&format!("accesskey={ACCESS_KEY}")), "/acs/connectionString"),
        (cs("endpoint=https://x.communication.azure.com/"), "/acs/connectionString"),
        (cs("endpoint=https://x.communication.azure.com/;accesskey=***"), "/acs/connectionString"),
        (
            cs(&format!("endpoint=ftp://x.communication.azure.com/;accesskey={ACCESS_KEY}")),
            "/acs/connectionString",
        ),
        (
            cs(&format!("endpoint=https://x.communication.azure.com/identities;accesskey={ACCESS_KEY}")),
            "/acs/connectionString",
        ),
        (
            json!({"acs": {"connectionString": null, "credential": {"type": "clientSecret", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": "x"}}}),
            "/acs/endpoint",
        ),
        (
            json!({"acs": {"connectionString": null, "endpoint": "https://x.communication.azure.com"}}),
            "/acs/credential",
        ),
        (json!({"acs": {"endpoint": "https://x.communication.azure.com"}}), "/acs"),
        (
            json!({"acs": {"connectionString": null, "endpoint": "https://x.communication.azure.com", "credential": {"type": "clientSecret", "tenantId": "x", "clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": "x"}}}),
            "/acs/credential/tenantId",
        ),
        (
            json!({"acs": {"connectionString": null, "endpoint": "https://x.communication.azure.com", "credential": {"type": "clientSecret", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "clientId": "y", "clientSecret": "x"}}}),
            "/acs/credential/clientId",
        ),
        (
            json!({"acs": {"connectionString": null, "endpoint": "https://x.communication.azure.com", "credential": {"type": "clientSecret", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": ""}}}),
            "/acs/credential/clientSecret",
        ),
        (json!({"acs": {"connectionString": null}}), "/acs"),
        (
            json!({"authorization": {"type": "entra", "url": null, "secret": null, "audience": "", "requiredScopes": ["a"]}}),
            "/authorization/audience",
        ),
        (
            json!({"authorization": {"type": "entra", "url": null, "secret": null, "audience": "api://x", "requiredScopes": []}}),
            "/authorization/requiredScopes",
        ),
        (
            json!({"authorization": {"type": "entra", "url": null, "secret": null, "audience": "api://x", "requiredScopes": ["two words"]}}),
            "/authorization/requiredScopes",
        ),
        (
            json!({"authorization": {"type": "jwt", "url": null, "secret": null, "issuer": "i", "audience": "a"}}),
            "/authorization/hs256Secret",
        ),
        (
            json!({"authorization": {"type": "jwt", "url": null, "secret": null, "issuer": "i", "audience": "a", "hs256Secret": "short"}}),
            "/authorization/hs256Secret",
        ),
        (
            json!({"authorization": {"type": "jwt", "url": null, "secret": null, "issuer": "i", "audience": "a", "hs256Secret": "k".repeat(40), "jwksUri": "https://a.example/keys"}}),
            "/authorization",
        ),
        (
            json!({"authorization": {"type": "jwt", "url": null, "secret": null, "issuer": "i", "audience": "a", "jwksUri": "not a url"}}),
            "/authorization/jwksUri",
        ),
        (
            json!({"authorization": {"type": "jwt", "url": null, "secret": null, "issuer": "", "audience": "a", "jwksUri": "https://a.example/keys"}}),
            "/authorization/issuer",
        ),
        (
            json!({"authorization": {"type": "webhook", "url": "https://a.example/#frag"}}),
            "/authorization/url",
        ),
        (json!({"authorization": {"secret": null}}), "/authorization/secret"),
        (json!({"authorization": {"secret": "too-short"}}), "/authorization/secret"),
        (json!({"authorization": {"timeoutMs": 10}}), "/authorization/timeoutMs"),
        (json!({"authorization": {"cacheSeconds": 100000}}), "/authorization/cacheSeconds"),
        (json!({"authorization": {"type": "oauth"}}), "/authorization/type"),
        (json!({"limits": {"exchangesPerSecond": 0}}), "/limits/exchangesPerSecond"),
        (json!({"limits": {"exchangesPerSecond": 100_001}}), "/limits/exchangesPerSecond"),
        (json!({"limits": {"burst": 0}}), "/limits/burst"),
        (json!({"limits": {"burst": 1_000_001}}), "/limits/burst"),
        (json!({"limits": {"burst": -1}}), "/limits/burst"),
        (json!({"limits": {"burst": "many"}}), "/limits/burst"),
        (json!({"entra": {"allowedAppIds": "11111111-2222-3333-4444-555555555555"}}), "/entra/allowedAppIds"),
        (json!({"colour": "blue"}), "/colour"),
        (json!({"entra": {"region": "eu"}}), "/entra/region"),
        (json!({"acs": {"accessKey": "x"}}), "/acs/accessKey"),
        (json!({"slug": null}), "/slug"),
        (json!({"entra": null}), "/entra"),
    ];
    for (change, field) in cases {
        let response = app.create_tenant_with(&body_with(&change)).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> =
            body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{change} should fail at {field}, got {body}");
        assert!(!body.to_string().contains(ACCESS_KEY), "{body}");
    }
}

#[tokio::test]
async fn several_invalid_fields_are_reported_together() {
    let app = spawn_app().await;
    let body = body_with(&json!({
        "slug": "X",
        "displayName": "",
        "entra": {"tenantId": "nope"},
        "limits": {"exchangesPerSecond": 0, "burst": 0},
    }));
    let problem = assert_problem(
        app.create_tenant_with(&body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["/slug", "/displayName", "/entra/tenantId", "/limits/exchangesPerSecond", "/limits/burst"]
    );
}

#[tokio::test]
async fn plain_http_upstreams_are_refused_unless_insecure_http_is_allowed() {
    let database = crate::helpers::fresh_database().await;
    let strict = crate::helpers::spawn_app_on(&database, &[("ACSGW_ALLOW_INSECURE_HTTP", "false")]).await;
    let strict = strict.with_admin_key("ops").await;
    let body = body_with(&cs(&format!("endpoint=http://127.0.0.1:9999;accesskey={ACCESS_KEY}")));
    let problem = assert_problem(
        strict.create_tenant_with(&body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("https"), "{problem}");
    let body = body_with(&json!({"authorization": {"url": "http://hooks.contoso.example/decide"}}));
    let problem = assert_problem(
        strict.create_tenant_with(&body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "/authorization/url");

    let lenient = spawn_app().await;
    let body = body_with(&cs(&format!("endpoint=http://127.0.0.1:9999;accesskey={ACCESS_KEY}")));
    assert_eq!(lenient.create_tenant_with(&body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn malformed_json_is_a_400_invalid_request() {
    let app = spawn_app().await;
    for raw in ["{\"slug\": ", "not json", ""] {
        let response = app
            .admin(reqwest::Method::POST, "/admin/v1/tenants")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_refused() {
    let app = spawn_app().await;
    let response = app
        .admin(reqwest::Method::POST, "/admin/v1/tenants")
        .header("content-type", "text/plain")
        .body(tenant_body(&unique_slug()).to_string())
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_before_it_is_parsed() {
    let app = spawn_app().await;
    let body = body_with(&json!({"displayName": "x".repeat(70 * 1024)}));
    let response = app.create_tenant_with(&body).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
}

#[tokio::test]
async fn the_schema_refuses_what_validation_would_let_through() {
    // Constraints live in Postgres too: a row that breaks them cannot be written by any path.
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    for statement in [
        "UPDATE tenants SET slug = 'UPPER' WHERE slug = $1",
        "UPDATE tenants SET status = 'paused' WHERE slug = $1",
        "UPDATE tenants SET entra_allowed_app_ids = '{}' WHERE slug = $1",
        "UPDATE tenants SET entra_tenant_id = '9188040d-6c67-4c5b-b112-36a304b66dad' WHERE slug = $1",
        "UPDATE tenants SET entra_authority = 'organizations' WHERE slug = $1",
        "UPDATE tenants SET burst = 0 WHERE slug = $1",
        "UPDATE tenants SET authorization_policy = '{\"type\": \"oauth\"}' WHERE slug = $1",
        "UPDATE tenants SET acs_endpoint = 'https://x/path' WHERE slug = $1",
    ] {
        let result = sqlx::query(statement).bind(&slug).execute(&app.pool).await;
        let error = result.expect_err(statement);
        assert!(error.as_database_error().and_then(|e| e.constraint()).is_some(), "{statement}: {error}");
    }
}
