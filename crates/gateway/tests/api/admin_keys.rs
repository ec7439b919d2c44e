//! `/admin/v1/admin-keys`: the shapes of API.md, validation that names the field, revocation,
//! and the audit trail of every key change.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn create_key(app: &TestApp, body: &Value) -> reqwest::Response {
    app.admin(Method::POST, "/admin/v1/admin-keys").json(body).send().await.unwrap()
}

async fn list_keys(app: &TestApp) -> Vec<Value> {
    let response = app.admin(Method::GET, "/admin/v1/admin-keys").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn status_with_key(app: &TestApp, key: &str, path: &str) -> StatusCode {
    app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap().status()
}

/// The field pointers of a 422 `validation_failed` answer.
async fn invalid_fields(response: reqwest::Response) -> Vec<(String, String)> {
    let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["message"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_created_key_is_answered_once_with_every_field_and_works_at_once() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = create_key(
        &app,
        &json!({"name": "fabrikam-ops", "role": "tenant", "tenant": slug, "expiresAt": "2999-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let mut fields: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["createdAt", "expiresAt", "id", "key", "lastUsedAt", "name", "revokedAt", "role", "tenant"]
    );
    assert_eq!(
        (&created["name"], &created["role"], &created["tenant"]),
        (&json!("fabrikam-ops"), &json!("tenant"), &json!(slug))
    );
    assert_eq!(created["expiresAt"], "2999-01-01T00:00:00Z");
    assert!(created["lastUsedAt"].is_null() && created["revokedAt"].is_null(), "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("acsgw_"), "{key}");
    assert_eq!(status_with_key(&app, key, &format!("/admin/v1/tenants/{slug}")).await, StatusCode::OK);
}

#[tokio::test]
async fn the_list_shows_every_key_but_never_a_key_or_its_hash() {
    let app = spawn_app().await;
    let created: Value =
        create_key(&app, &json!({"name": "auditor", "role": "reader"})).await.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let response = app.admin(Method::GET, "/admin/v1/admin-keys").send().await.unwrap();
    let text = response.text().await.unwrap();
    assert!(!text.contains(&key) && !text.contains(&key["acsgw_".len()..]), "{text}");
    let hash: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM admin_keys WHERE name = 'auditor'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.to_lowercase().contains(&hex), "{text}");

    let items = list_keys(&app).await;
    let names: Vec<&str> = items.iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["auditor", "test-operator"], "newest first");
    assert!(items.iter().all(|k| k.get("key").is_none() && k.get("keyHash").is_none()), "{items:?}");
    assert_eq!(items[0]["role"], "reader");
    assert_eq!(items[0]["id"], created["id"]);
    // The key the tests are given is made as keys were before roles existed: an owner key.
    assert_eq!(items[1]["role"], "owner");
    assert!(items[1]["tenant"].is_null() && items[1]["expiresAt"].is_null(), "{:?}", items[1]);
}

#[tokio::test]
async fn an_invalid_key_request_names_each_invalid_field() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let cases = [
        (json!({"name": "x", "role": "admin"}), "/role", "must be one of owner, operator, reader, tenant"),
        (json!({"name": "x", "role": "tenant"}), "/tenant", "is required for role tenant"),
        (
            json!({"name": "x", "role": "operator", "tenant": slug}),
            "/tenant",
            "is only allowed for role tenant",
        ),
        (
            json!({"name": "x", "role": "tenant", "tenant": "no-such-tenant"}),
            "/tenant",
            "no tenant has this slug",
        ),
        (json!({"name": "x", "role": "tenant", "tenant": "Not A Slug"}), "/tenant", "must be"),
        (
            json!({"name": "x", "role": "owner", "expiresAt": "2020-01-01T00:00:00Z"}),
            "/expiresAt",
            "must be in the future",
        ),
        (
            json!({"name": "x", "role": "owner", "expiresAt": "tomorrow"}),
            "/expiresAt",
            "must be an RFC 3339 date-time",
        ),
        (json!({"name": "x y", "role": "owner"}), "/name", "must be 1 to 64 characters"),
        (json!({"role": "owner"}), "/name", "is required"),
        (json!({"name": "x", "role": "owner", "scope": "all"}), "/scope", "is not a known field"),
    ];
    for (body, field, message) in cases {
        let errors = invalid_fields(create_key(&app, &body).await).await;
        assert!(
            errors.iter().any(|(f, m)| f == field && m.starts_with(message)),
            "{body}: expected {field} {message:?}, got {errors:?}"
        );
    }
    let errors =
        invalid_fields(create_key(&app, &json!({"name": "", "role": "root", "expiresAt": "x"})).await).await;
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["/name", "/role", "/expiresAt"], "every invalid field is named at once");
    assert_eq!(list_keys(&app).await.len(), 1, "nothing was created");
}

#[tokio::test]
async fn a_malformed_key_request_is_a_bad_request() {
    let app = spawn_app().await;
    let response = app
        .admin(Method::POST, "/admin/v1/admin-keys")
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_and_listed_as_revoked_and_revoking_again_changes_nothing() {
    let app = spawn_app().await;
    let created: Value =
        create_key(&app, &json!({"name": "leaving", "role": "operator"})).await.json().await.unwrap();
    let (id, key) = (created["id"].as_str().unwrap(), created["key"].as_str().unwrap());
    assert_eq!(status_with_key(&app, key, "/admin/v1/tenants").await, StatusCode::OK);

    let path = format!("/admin/v1/admin-keys/{id}");
    let revoked = app.admin(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = app.client.get(app.url("/admin/v1/tenants")).bearer_auth(key).send().await.unwrap();
    let body = assert_problem(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["detail"], "admin key revoked");

    let listed = list_keys(&app).await.into_iter().find(|k| k["id"] == id).unwrap();
    let revoked_at = listed["revokedAt"].as_str().unwrap().to_owned();
    let again = app.admin(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let listed = list_keys(&app).await.into_iter().find(|k| k["id"] == id).unwrap();
    assert_eq!(listed["revokedAt"], revoked_at.as_str(), "the first revocation time stays");
    let revocations =
        audit_of_keys(&app).await.into_iter().filter(|e| e["action"] == "admin_key.revoked").count();
    assert_eq!(revocations, 1);
}

#[tokio::test]
async fn revoking_an_unknown_key_is_not_found() {
    let app = spawn_app().await;
    for id in ["0190b0b0-0000-7000-8000-000000000000", "not-a-uuid"] {
        let response = app.admin(Method::DELETE, &format!("/admin/v1/admin-keys/{id}")).send().await.unwrap();
        let body = assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        assert_eq!(body["detail"], "admin key not found", "{id}");
    }
}

async fn audit_of_keys(app: &TestApp) -> Vec<Value> {
    let response = app.admin(Method::GET, "/admin/v1/audit-events?limit=500").send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    let events = body["items"].as_array().unwrap().iter();
    events.filter(|e| e["action"].as_str().unwrap().starts_with("admin_key.")).cloned().collect()
}

#[tokio::test]
async fn creating_and_revoking_a_key_are_audited_with_their_actor_and_without_the_key() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let response = create_key(&app, &json!({"name": "fabrikam-ops", "role": "tenant", "tenant": slug})).await;
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let revoked = app
        .admin(Method::DELETE, &format!("/admin/v1/admin-keys/{id}"))
        .header("x-request-id", "revoke-fabrikam-ops")
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);

    let events = audit_of_keys(&app).await;
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(created["key"].as_str().unwrap()), "{text}");
    // Newest first; the helper's own key was made by the test set-up, through the CLI path.
    let [revocation, creation, setup] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(setup["actor"], "cli:test");
    assert_eq!(
        (&creation["action"], &creation["actor"]),
        (&json!("admin_key.created"), &json!("test-operator"))
    );
    assert_eq!(creation["tenant"], slug.as_str());
    let changed = |event: &Value, field: &str| {
        event["changes"].as_array().unwrap().iter().find(|c| c["field"] == field).cloned()
    };
    assert_eq!(changed(creation, "/id").unwrap()["to"], id);
    assert_eq!(changed(creation, "/role").unwrap()["to"], "tenant");
    assert_eq!(changed(creation, "/tenant").unwrap()["to"], slug.as_str());
    assert_eq!(
        (&revocation["action"], &revocation["actor"]),
        (&json!("admin_key.revoked"), &json!("test-operator"))
    );
    assert_eq!(revocation["requestId"], "revoke-fabrikam-ops");
    assert_eq!(changed(revocation, "/id").unwrap()["from"], id);
    assert!(changed(revocation, "/revokedAt").unwrap()["to"].is_string(), "{revocation}");
}

#[tokio::test]
async fn the_admin_key_routes_refuse_a_request_without_a_key() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::POST, "/admin/v1/admin-keys"),
        (Method::GET, "/admin/v1/admin-keys"),
        (Method::DELETE, "/admin/v1/admin-keys/0190b0b0-0000-7000-8000-000000000000"),
    ] {
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_admin_key_routes_with_the_key_only_in_the_creation() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    for (path, method) in [
        ("/admin/v1/admin-keys", "post"),
        ("/admin/v1/admin-keys", "get"),
        ("/admin/v1/admin-keys/{id}", "delete"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
    }
    let schemas = &doc["components"]["schemas"];
    let created = serde_json::to_string(&schemas["CreatedAdminKey"]).unwrap();
    assert!(created.contains("\"key\""), "{created}");
    assert!(schemas["AdminKeyView"]["properties"].get("key").is_none(), "{}", schemas["AdminKeyView"]);
    let roles = &schemas["AdminKeyRole"]["enum"];
    assert_eq!(roles, &json!(["owner", "operator", "reader", "tenant"]));
}
