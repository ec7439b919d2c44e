use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, etag, spawn_app};

#[tokio::test]
async fn a_patch_without_if_match_is_a_428() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = app.patch_tenant(&slug, None, &json!({"displayName": "New"})).await;
    assert_problem(response, StatusCode::PRECONDITION_REQUIRED, "precondition_required").await;
}

#[tokio::test]
async fn a_patch_with_a_stale_etag_is_a_412_and_changes_nothing() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let first = app.patch_tenant(&slug, Some("\"1\""), &json!({"displayName": "Second"})).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(etag(&first), "\"2\"");
    let stale = app.patch_tenant(&slug, Some("\"1\""), &json!({"displayName": "Lost update"})).await;
    assert_problem(stale, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let weak = app.patch_tenant(&slug, Some("W/\"2\""), &json!({"displayName": "Weak"})).await;
    assert_problem(weak, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let current: Value = app.get_tenant(&slug).await.json().await.unwrap();
    assert_eq!(current["displayName"], "Second");
    assert_eq!(current["version"], 2);
}

#[tokio::test]
async fn a_merge_patch_changes_only_what_it_names() {
    let app = spawn_app().await;
    let (slug, before) = app.create_tenant().await;
    let patch = json!({"status": "suspended", "entra": {"allowedAppIds": ["11111111-2222-3333-4444-555555555555", "99999999-2222-3333-4444-555555555555"]}, "limits": {"burst": 50}});
    let response = app.patch_tenant(&slug, Some("\"1\""), &patch).await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["status"], "suspended");
    assert_eq!(after["entra"]["allowedAppIds"].as_array().unwrap().len(), 2);
    assert_eq!(after["entra"]["tenantId"], before["entra"]["tenantId"]);
    assert_eq!(after["limits"], json!({"exchangesPerSecond": 10, "burst": 50}));
    assert_eq!(after["displayName"], before["displayName"]);
    assert_eq!(after["acs"], before["acs"]);
    assert_eq!(after["authorization"], before["authorization"], "the webhook secret is kept");
    assert_eq!(after["version"], 2);
    assert_eq!(after["createdAt"], before["createdAt"]);
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version() {
    let app = spawn_app().await;
    let (slug, before) = app.create_tenant().await;
    let response = app.patch_tenant(&slug, Some("*"), &json!({"displayName": before["displayName"]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(etag(&response), "\"1\"");
}

#[tokio::test]
async fn changing_the_policy_type_replaces_the_policy() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let patch = json!({"authorization": {"type": "entra", "audience": "api://contoso", "requiredScopes": ["access_as_user"]}});
    let response = app.patch_tenant(&slug, Some("\"1\""), &patch).await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["authorization"], patch["authorization"]);
}

#[tokio::test]
async fn switching_to_a_policy_that_needs_a_secret_requires_one() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let patch = json!({"authorization": {"type": "jwt", "issuer": "https://i.example", "audience": "a"}});
    let problem = assert_problem(
        app.patch_tenant(&slug, Some("\"1\""), &patch).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "/authorization/hs256Secret");
}

#[tokio::test]
async fn changing_the_authority_drops_the_old_authority_fields() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let patch = json!({"entra": {"authority": "organizations", "allowedTenantIds": ["aaaaaaaa-0000-0000-0000-000000000001"]}});
    let after: Value = app.patch_tenant(&slug, Some("\"1\""), &patch).await.json().await.unwrap();
    assert_eq!(after["entra"]["authority"], "organizations");
    assert!(after["entra"].get("tenantId").is_none(), "{after}");
    assert_eq!(after["entra"]["allowedAppIds"][0], "11111111-2222-3333-4444-555555555555");
}

#[tokio::test]
async fn read_only_and_write_elsewhere_fields_are_refused_in_a_patch() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let patch = json!({"slug": "renamed", "acs": {"connectionString": "x"}, "version": 9, "createdAt": "2020-01-01T00:00:00Z"});
    let problem = assert_problem(
        app.patch_tenant(&slug, Some("\"1\""), &patch).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/slug", "/acs", "/createdAt", "/version"]);
}

#[tokio::test]
async fn a_patch_is_validated_like_a_creation() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    for (patch, field) in [
        (json!({"entra": {"tenantId": "nope"}}), "/entra/tenantId"),
        (json!({"limits": null}), "/limits"),
        (json!({"limits": {"exchangesPerSecond": 0}}), "/limits/exchangesPerSecond"),
        (json!({"authorization": {"timeoutMs": 1}}), "/authorization/timeoutMs"),
        (json!({"unknown": 1}), "/unknown"),
        (json!([1, 2]), ""),
    ] {
        let response = app.patch_tenant(&slug, Some("\"1\""), &patch).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{patch}: {problem}");
    }
}

#[tokio::test]
async fn patching_an_unknown_tenant_is_a_404() {
    let app = spawn_app().await;
    let response = app.patch_tenant("no-such-tenant", Some("\"1\""), &json!({"displayName": "x"})).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn an_if_match_listing_several_tags_matches_if_any_of_them_does() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let listed = app.patch_tenant(&slug, Some("\"7\", \"1\""), &json!({"displayName": "Listed"})).await;
    assert_eq!(listed.status(), StatusCode::OK, "the second tag names the current version");
    assert_eq!(etag(&listed), "\"2\"");
    let none = app.patch_tenant(&slug, Some("\"1\", W/\"2\", \"3\""), &json!({"displayName": "No"})).await;
    assert_problem(none, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    let star = app.patch_tenant(&slug, Some("\"9\", *"), &json!({"displayName": "Star"})).await;
    assert_eq!(star.status(), StatusCode::OK);

    let cs =
        "endpoint=https://y.communication.azure.com/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let acs = |if_match: &'static str| {
        app.admin(reqwest::Method::PUT, &format!("/admin/v1/tenants/{slug}/acs"))
            .header("if-match", if_match)
            .json(&json!({"connectionString": cs}))
            .send()
    };
    assert_problem(
        acs("\"1\", \"2\"").await.unwrap(),
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    let rotated = acs("\"2\", \"3\"").await.unwrap();
    assert_eq!(rotated.status(), StatusCode::OK, "the tenant is at version 3");
    assert_eq!(etag(&rotated), "\"4\"");

    let delete = |if_match: &'static str| {
        app.admin(reqwest::Method::DELETE, &format!("/admin/v1/tenants/{slug}"))
            .header("if-match", if_match)
            .send()
    };
    assert_problem(
        delete("\"1\", \"3\"").await.unwrap(),
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    assert_eq!(delete("\"3\", \"4\"").await.unwrap().status(), StatusCode::NO_CONTENT);
}
