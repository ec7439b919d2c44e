use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{assert_problem, etag, spawn_app};

#[tokio::test]
async fn reading_a_tenant_returns_it_with_its_etag() {
    let app = spawn_app().await;
    let (slug, created) = app.create_tenant().await;
    let response = app.get_tenant(&slug).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(etag(&response), "\"1\"");
    assert_eq!(response.json::<Value>().await.unwrap(), created);
}

#[tokio::test]
async fn reading_an_unknown_or_impossible_slug_is_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(app.get_tenant("no-such-tenant").await, StatusCode::NOT_FOUND, "not_found").await;
    assert_problem(app.get_tenant("NOT_A_SLUG").await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn listing_pages_through_every_tenant_newest_first() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(app.create_tenant().await.0);
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/tenants?limit=2&cursor={c}"),
            None => "/admin/v1/tenants?limit=2".to_owned(),
        };
        let page: Value = app.admin(Method::GET, &path).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["slug"].as_str().unwrap().to_owned()));
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_a_400_problem() {
    let app = spawn_app().await;
    for query in ["limit=0", "limit=201", "limit=ten", "cursor=garbage", "sort=name"] {
        let response = app.admin(Method::GET, &format!("/admin/v1/tenants?{query}")).send().await.unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}
