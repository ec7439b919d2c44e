use reqwest::StatusCode;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_incoming_request_id_is_echoed_in_the_header_and_the_problem_body() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .header("x-request-id", "abc-123.def:9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123.def:9");
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["requestId"], "abc-123.def:9");
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_fresh_one() {
    let app = spawn_app().await;
    let first = app.client.get(app.url("/healthz")).send().await.unwrap();
    let second = app.client.get(app.url("/healthz")).send().await.unwrap();
    let (a, b) = (&first.headers()["x-request-id"], &second.headers()["x-request-id"]);
    assert_eq!(a.len(), 36);
    assert_ne!(a, b);
}

#[tokio::test]
async fn an_unsafe_request_id_is_replaced_rather_than_echoed() {
    let app = spawn_app().await;
    for bad in ["has space", &"x".repeat(129), "semi;colon", "quote\""] {
        let response = app.client.get(app.url("/healthz")).header("x-request-id", bad).send().await.unwrap();
        let echoed = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, bad);
        assert_eq!(echoed.len(), 36);
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_problem_details() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/no/such/route")).send().await.unwrap();
    let body = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["requestId"].as_str().unwrap().len(), 36);
    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert!(response.status().is_client_error());
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}
