use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ACCESS_KEY, WEBHOOK_SECRET, assert_problem, spawn_app};

#[tokio::test]
async fn every_change_writes_an_audit_event_with_the_admin_key_name_and_changed_fields() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let patched = app.patch_tenant(&slug, Some("\"1\""), &json!({"displayName": "Renamed", "authorization": {"secret": "another-webhook-secret-0123456789abcdef"}})).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let rotated = app
        .admin(Method::PUT, &format!("/admin/v1/tenants/{slug}/acs"))
        .json(&json!({"connectionString": "endpoint=https://x.communication.azure.com/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="}))
        .header("x-request-id", "rotate-123")
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let deleted = app.admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let events = app.audit_events(&slug).await;
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["tenant.deleted", "tenant.acs_rotated", "tenant.updated", "tenant.created"]);
    for event in &events {
        assert_eq!(event["actor"], "test-operator");
        assert_eq!(event["tenant"], slug);
        assert!(event["occurredAt"].as_str().is_some());
    }
    let update = &events[2];
    let fields: Vec<&str> =
        update["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/authorization/secretFingerprint", "/displayName"]);
    assert_eq!(
        update["changes"][1],
        json!({"field": "/displayName", "from": "Fabrikam Inc.", "to": "Renamed"})
    );
    assert_eq!(events[1]["requestId"], "rotate-123");
    let acs_fields: Vec<&str> =
        events[1]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(acs_fields, ["/acs/endpoint", "/acs/keyFingerprint"]);
    let created = &events[3];
    assert!(created["changes"].as_array().unwrap().iter().any(|c| c["field"] == "/slug" && c["to"] == slug));

    let everything = Value::Array(events).to_string();
    assert!(!everything.contains(ACCESS_KEY) && !everything.contains(WEBHOOK_SECRET));
    assert!(!everything.contains("another-webhook-secret"));
}

#[tokio::test]
async fn audit_events_are_filtered_by_tenant_and_limited() {
    let app = spawn_app().await;
    let (first, _) = app.create_tenant().await;
    let (second, _) = app.create_tenant().await;
    assert!(app.audit_events(&first).await.iter().all(|e| e["tenant"] == first));
    let all: Value =
        app.admin(Method::GET, "/admin/v1/audit-events?limit=2").send().await.unwrap().json().await.unwrap();
    let tenants: Vec<&str> =
        all["items"].as_array().unwrap().iter().map(|e| e["tenant"].as_str().unwrap()).collect();
    assert_eq!(tenants, [second.as_str(), first.as_str()]);
    for bad in ["limit=0", "limit=501", "tenant=Not_A_Slug"] {
        let response = app.admin(Method::GET, &format!("/admin/v1/audit-events?{bad}")).send().await.unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}
