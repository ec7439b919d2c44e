use reqwest::{Method, StatusCode};

use crate::helpers::{assert_problem, spawn_app};

const ROUTES: &[(&str, &str)] = &[
    ("POST", "/admin/v1/tenants"),
    ("GET", "/admin/v1/tenants"),
    ("GET", "/admin/v1/tenants/fabrikam"),
    ("PATCH", "/admin/v1/tenants/fabrikam"),
    ("PUT", "/admin/v1/tenants/fabrikam/acs"),
    ("DELETE", "/admin/v1/tenants/fabrikam"),
    ("GET", "/admin/v1/audit-events"),
];

#[tokio::test]
async fn every_admin_route_refuses_a_request_without_an_admin_key() {
    let app = spawn_app().await;
    for (method, path) in ROUTES {
        let response = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{method} {path}");
        let body = assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert!(body["detail"].as_str().unwrap().contains("missing admin key"), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn every_admin_route_refuses_an_unknown_admin_key() {
    let app = spawn_app().await;
    for (method, path) in ROUTES {
        let response = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), app.url(path))
            .bearer_auth("acsgw_not-a-real-key")
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert_eq!(body["detail"], "admin key not recognised");
    }
}

#[tokio::test]
async fn a_basic_authorization_header_is_not_an_admin_key() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .basic_auth("admin", Some(&app.admin_key))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_valid_admin_key_is_accepted() {
    let app = spawn_app().await;
    let response = app.admin(Method::GET, "/admin/v1/tenants").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
