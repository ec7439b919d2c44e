use reqwest::{Method, StatusCode};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn deleting_a_tenant_is_a_204_and_then_it_is_gone() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = app.admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get_tenant(&slug).await, StatusCode::NOT_FOUND, "not_found").await;
    let again = app.admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE slug = $1")
        .bind(&slug)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn deleting_with_a_stale_etag_is_a_412_and_keeps_the_tenant() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = app
        .admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}"))
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
    assert_eq!(app.get_tenant(&slug).await.status(), StatusCode::OK);
}
