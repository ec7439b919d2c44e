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
    let server = local_pg::PostgresServer::for_tests().await.unwrap();
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
        ("/admin/v1/tenants/{slug}/stats", "get"),
        ("/metrics", "get"),
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

#[tokio::test]
async fn the_openapi_document_describes_errors_preconditions_and_response_headers() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let operations = doc["paths"].as_object().unwrap().iter().flat_map(|(path, item)| {
        item.as_object().unwrap().iter().map(move |(method, operation)| (path, method, operation))
    });
    for (path, method, operation) in operations {
        for (status, response) in operation["responses"].as_object().unwrap() {
            let header = &response["headers"]["x-request-id"];
            assert!(header.is_object(), "{method} {path} {status}: x-request-id");
        }
        if path.starts_with("/admin/") {
            let problem = &operation["responses"]["5XX"]["content"]["application/problem+json"];
            assert!(problem.is_object(), "{method} {path}: 5XX problem details");
        }
    }
    let if_match = |path: &str, method: &str| {
        let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
        params.iter().find(|p| p["name"] == "If-Match" && p["in"] == "header").cloned()
    };
    assert_eq!(if_match("/admin/v1/tenants/{slug}", "patch").unwrap()["required"], true);
    for (path, method) in [("/admin/v1/tenants/{slug}/acs", "put"), ("/admin/v1/tenants/{slug}", "delete")] {
        assert_eq!(
            if_match(path, method).expect("If-Match documented")["required"],
            false,
            "{method} {path}"
        );
    }
    let patch = &doc["paths"]["/admin/v1/tenants/{slug}"]["patch"]["requestBody"]["content"];
    assert_eq!(patch["application/merge-patch+json"]["schema"]["$ref"], "#/components/schemas/TenantPatch");
    let schema = &doc["components"]["schemas"]["TenantPatch"]["properties"];
    for member in ["displayName", "status", "entra", "authorization", "limits"] {
        assert!(schema[member].is_object(), "TenantPatch.{member}");
    }
    for path in ["/v1/tenants/{tenant}/token/teams", "/api/token/teams"] {
        let operation = doc["paths"][path].as_object().unwrap().values().next().unwrap();
        for status in ["429", "503"] {
            let response = &operation["responses"][status];
            assert!(response["headers"]["Retry-After"].is_object(), "{path} {status}: Retry-After");
            assert!(response["content"]["application/problem+json"].is_object(), "{path} {status}");
        }
    }
}
