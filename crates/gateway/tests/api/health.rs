use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, spawn_app_on, spawn_app_without_postgres};

#[tokio::test]
async fn healthz_answers_200_without_authentication() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn readyz_answers_200_when_postgres_is_migrated() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_answers_503_on_a_database_without_migrations() {
    let server = registry::local_pg::PostgresServer::for_tests().await.unwrap();
    let empty = server.create_database().await.unwrap();
    let app = spawn_app_on(&empty, &[]).await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;
    assert_eq!(body["detail"], "database migrations are not current");
}

#[tokio::test]
async fn readyz_answers_503_when_postgres_is_unreachable() {
    let app = spawn_app_without_postgres(&[]).await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;
    assert_eq!(body["detail"], "postgres is not reachable");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
        ("/admin/v1/tenants", "post"),
        ("/admin/v1/tenants", "get"),
        ("/admin/v1/tenants/{slug}", "get"),
        ("/admin/v1/tenants/{slug}", "patch"),
        ("/admin/v1/tenants/{slug}", "delete"),
        ("/admin/v1/tenants/{slug}/acs", "put"),
        ("/admin/v1/audit-events", "get"),
        ("/v1/tenants/{tenant}/token/teams", "post"),
        ("/api/token/teams", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
    }
    assert!(doc["components"]["schemas"]["CreateTenantRequest"].is_object());
    assert!(doc["components"]["schemas"]["ProblemBody"].is_object());
    assert!(doc["components"]["schemas"]["ExchangeBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["artifactB"].is_object());
}
