//! Every admin route against every role: what each role may do succeeds, what it may not is
//! `403 forbidden` and changes nothing. Each cell gets a fresh tenant and a fresh key of its role
//! (a `tenant` key bound to that tenant), so no cell depends on another.

use registry::{
    admin_keys::{self, AdminKeyName, AdminKeyScope, NewAdminKey},
    audit::Actor,
    domain::TenantSlug,
};
use reqwest::{Method, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{
    helpers::{APP_ID, TestApp, assert_problem, spawn_app, tenant_body, unique_slug},
    onboarding_helpers::{invite, spawn_onboarding_app},
};

const OTHER_APP_ID: &str = "99999999-8888-7777-6666-555555555555";
const NEW_CONNECTION: &str =
    "endpoint=https://y.communication.azure.com/;accesskey=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Operator,
    Reader,
    Tenant,
}

const ROLES: [Role; 4] = [Role::Owner, Role::Operator, Role::Reader, Role::Tenant];

/// A key of `role` (a `tenant` key bound to `slug`), made directly in the registry.
pub async fn key_for(app: &TestApp, role: Role, slug: &str) -> String {
    let scope = match role {
        Role::Owner => AdminKeyScope::Owner,
        Role::Operator => AdminKeyScope::Operator,
        Role::Reader => AdminKeyScope::Reader,
        Role::Tenant => AdminKeyScope::Tenant(TenantSlug::parse(slug).unwrap()),
    };
    let name = AdminKeyName::parse(&format!("{role:?}-key").to_lowercase()).unwrap();
    let new = NewAdminKey { name, scope, expires_at: None };
    let (_, key) = admin_keys::create_with(&app.pool, &new, &Actor::cli("test")).await.unwrap();
    key.expose_secret().to_owned()
}

/// One call of an admin route, on the cell's tenant.
#[derive(Debug, Clone, Copy)]
enum Call {
    CreateTenant,
    ListTenants,
    ReadTenant,
    PatchAllowedAppIds,
    PatchBPolicy,
    PatchDisplayName,
    ReplaceAcs,
    DeleteTenant,
    TenantStats,
    AuditEventsOfTheTenant,
    AuditEventsUnfiltered,
    CreateAdminKey,
    ListAdminKeys,
    RevokeAdminKey,
    CreateInvitation,
    ListInvitations,
    RevokeInvitation,
}

use Call as C;
use StatusCode as S;

/// The expected status for owner, operator, reader and tenant keys.
const MATRIX: &[(Call, [StatusCode; 4])] = &[
    (C::CreateTenant, [S::CREATED, S::CREATED, S::FORBIDDEN, S::FORBIDDEN]),
    (C::ListTenants, [S::OK, S::OK, S::OK, S::FORBIDDEN]),
    (C::ReadTenant, [S::OK, S::OK, S::OK, S::OK]),
    (C::PatchAllowedAppIds, [S::OK, S::OK, S::FORBIDDEN, S::OK]),
    (C::PatchBPolicy, [S::OK, S::OK, S::FORBIDDEN, S::OK]),
    (C::PatchDisplayName, [S::OK, S::OK, S::FORBIDDEN, S::FORBIDDEN]),
    (C::ReplaceAcs, [S::OK, S::OK, S::FORBIDDEN, S::OK]),
    (C::DeleteTenant, [S::NO_CONTENT, S::NO_CONTENT, S::FORBIDDEN, S::FORBIDDEN]),
    (C::TenantStats, [S::OK, S::OK, S::OK, S::OK]),
    (C::AuditEventsOfTheTenant, [S::OK, S::OK, S::OK, S::OK]),
    (C::AuditEventsUnfiltered, [S::OK, S::OK, S::OK, S::OK]),
    (C::CreateAdminKey, [S::CREATED, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN]),
    (C::ListAdminKeys, [S::OK, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN]),
    (C::RevokeAdminKey, [S::NO_CONTENT, S::FORBIDDEN, S::FORBIDDEN, S::FORBIDDEN]),
    (C::CreateInvitation, [S::CREATED, S::CREATED, S::FORBIDDEN, S::FORBIDDEN]),
    (C::ListInvitations, [S::OK, S::OK, S::OK, S::OK]),
    (C::RevokeInvitation, [S::NO_CONTENT, S::NO_CONTENT, S::FORBIDDEN, S::FORBIDDEN]),
];

async fn call(app: &TestApp, key: &str, call: Call, slug: &str) -> Response {
    let tenant = format!("/admin/v1/tenants/{slug}");
    let request = |method: Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(key);
    let patch = |body: Value| {
        request(Method::PATCH, &tenant)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", "\"1\"")
            .body(body.to_string())
    };
    let builder = match call {
        C::CreateTenant => request(Method::POST, "/admin/v1/tenants").json(&tenant_body(&unique_slug())),
        C::ListTenants => request(Method::GET, "/admin/v1/tenants"),
        C::ReadTenant => request(Method::GET, &tenant),
        C::PatchAllowedAppIds => patch(json!({"entra": {"allowedAppIds": [APP_ID, OTHER_APP_ID]}})),
        C::PatchBPolicy => patch(json!({"authorization": {"timeoutMs": 750}})),
        C::PatchDisplayName => patch(json!({"displayName": "Renamed"})),
        C::ReplaceAcs => {
            request(Method::PUT, &format!("{tenant}/acs")).json(&json!({"connectionString": NEW_CONNECTION}))
        }
        C::DeleteTenant => request(Method::DELETE, &tenant),
        C::TenantStats => request(Method::GET, &format!("{tenant}/stats")),
        C::AuditEventsOfTheTenant => request(Method::GET, &format!("/admin/v1/audit-events?tenant={slug}")),
        C::AuditEventsUnfiltered => request(Method::GET, "/admin/v1/audit-events"),
        C::CreateAdminKey => {
            request(Method::POST, "/admin/v1/admin-keys").json(&json!({"name": "new", "role": "reader"}))
        }
        C::ListAdminKeys => request(Method::GET, "/admin/v1/admin-keys"),
        C::RevokeAdminKey => {
            let victim = key_for(app, Role::Reader, slug).await;
            let hash = admin_keys::key_hash(&victim);
            let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM admin_keys WHERE key_hash = $1")
                .bind(hash.as_slice())
                .fetch_one(&app.pool)
                .await
                .unwrap();
            request(Method::DELETE, &format!("/admin/v1/admin-keys/{id}"))
        }
        C::CreateInvitation => request(Method::POST, &format!("{tenant}/invitations")),
        C::ListInvitations => request(Method::GET, &format!("{tenant}/invitations")),
        C::RevokeInvitation => {
            let id = invite(app, slug).await["id"].as_str().unwrap().to_owned();
            request(Method::DELETE, &format!("{tenant}/invitations/{id}"))
        }
    };
    builder.send().await.unwrap()
}

async fn key_count(app: &TestApp) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(revoked_at) FROM admin_keys").fetch_one(&app.pool).await.unwrap()
}

/// What a refused call must have left alone: the tenant at its first version, and the keys as
/// they were (`keys_before`, from [`key_count`]).
async fn nothing_changed(app: &TestApp, slug: &str, keys_before: (i64, i64)) -> Result<(), String> {
    let tenant = app.get_tenant(slug).await;
    if tenant.status() != StatusCode::OK {
        return Err(format!("tenant answers {}", tenant.status()));
    }
    let version = tenant.json::<Value>().await.unwrap()["version"].clone();
    let keys = key_count(app).await;
    if version == 1 && keys == keys_before {
        Ok(())
    } else {
        Err(format!("tenant at version {version}, keys (all, revoked) {keys_before:?} -> {keys:?}"))
    }
}

/// What a refused call must have left alone of the tenant's invitations: as many open as before.
async fn open_invitations(app: &TestApp, slug: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM invitations i JOIN tenants t ON t.id = i.tenant_id
         WHERE t.slug = $1 AND i.state = 'pending'",
    )
    .bind(slug)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_role_may_call_exactly_the_admin_routes_it_is_allowed() {
    // Onboarding configured, so that the invitation routes answer.
    let app = spawn_onboarding_app().await;
    let mut failures = Vec::new();
    for (route, expected) in MATRIX {
        for (role, expected) in ROLES.into_iter().zip(*expected) {
            let (slug, _) = app.create_tenant().await;
            let key = key_for(&app, role, &slug).await;
            let keys_before = key_count(&app).await;
            // The revocation's invitation is made by the call itself.
            let invitations_before =
                open_invitations(&app, &slug).await + i64::from(matches!(route, C::RevokeInvitation));
            let response = call(&app, &key, *route, &slug).await;
            let status = response.status();
            let body = response.text().await.unwrap();
            if status != expected {
                failures.push(format!("{role:?} key, {route:?}: expected {expected}, got {status}: {body}"));
            } else if status == StatusCode::FORBIDDEN {
                let problem: Value = serde_json::from_str(&body).unwrap();
                if problem["code"] != "forbidden" {
                    failures.push(format!("{role:?} key, {route:?}: refused without code forbidden: {body}"));
                }
                // The revocation's victim is made by the call itself.
                let keys_before = match route {
                    C::RevokeAdminKey => (keys_before.0 + 1, keys_before.1),
                    _ => keys_before,
                };
                if let Err(change) = nothing_changed(&app, &slug, keys_before).await {
                    failures.push(format!("{role:?} key, {route:?}: refused, yet {change}"));
                }
                let invitations = open_invitations(&app, &slug).await;
                if invitations != invitations_before {
                    failures.push(format!(
                        "{role:?} key, {route:?}: refused, yet open invitations {invitations_before} -> {invitations}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} cell(s) wrong:\n{}", failures.len(), failures.join("\n"));
}

/// The operation of the OpenAPI document a call exercises.
fn operation(call: Call) -> (&'static str, &'static str) {
    match call {
        C::CreateTenant => ("post", "/admin/v1/tenants"),
        C::ListTenants => ("get", "/admin/v1/tenants"),
        C::ReadTenant => ("get", "/admin/v1/tenants/{slug}"),
        C::PatchAllowedAppIds | C::PatchBPolicy | C::PatchDisplayName => {
            ("patch", "/admin/v1/tenants/{slug}")
        }
        C::ReplaceAcs => ("put", "/admin/v1/tenants/{slug}/acs"),
        C::DeleteTenant => ("delete", "/admin/v1/tenants/{slug}"),
        C::TenantStats => ("get", "/admin/v1/tenants/{slug}/stats"),
        C::AuditEventsOfTheTenant | C::AuditEventsUnfiltered => ("get", "/admin/v1/audit-events"),
        C::CreateAdminKey => ("post", "/admin/v1/admin-keys"),
        C::ListAdminKeys => ("get", "/admin/v1/admin-keys"),
        C::RevokeAdminKey => ("delete", "/admin/v1/admin-keys/{id}"),
        C::CreateInvitation => ("post", "/admin/v1/tenants/{slug}/invitations"),
        C::ListInvitations => ("get", "/admin/v1/tenants/{slug}/invitations"),
        C::RevokeInvitation => ("delete", "/admin/v1/tenants/{slug}/invitations/{id}"),
    }
}

/// Calls every role may make on its own tenant; a `tenant` key is refused them on another tenant.
const REFUSED_ON_ANOTHER_TENANT: &[Call] = &[
    C::ReadTenant,
    C::PatchAllowedAppIds,
    C::PatchBPolicy,
    C::ReplaceAcs,
    C::DeleteTenant,
    C::TenantStats,
    C::AuditEventsOfTheTenant,
    C::ListInvitations,
];

#[tokio::test]
async fn every_admin_operation_of_the_openapi_document_is_in_the_matrix_allowed_to_one_role_and_refused_to_one()
 {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap().iter().filter(|(path, _)| path.starts_with("/admin/"));
    let operations = paths
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.as_str(), path.as_str())));
    for (method, path) in operations {
        let calls: Vec<_> = MATRIX.iter().filter(|(call, _)| operation(*call) == (method, path)).collect();
        assert!(!calls.is_empty(), "{method} {path} is not in the role matrix");
        let allowed = calls.iter().any(|(_, statuses)| statuses.iter().any(StatusCode::is_success));
        let refused = calls.iter().any(|(call, statuses)| {
            statuses.contains(&StatusCode::FORBIDDEN)
                || REFUSED_ON_ANOTHER_TENANT.iter().any(|c| operation(*c) == operation(*call))
        });
        assert!(
            allowed && refused,
            "{method} {path}: allowed to some role {allowed}, refused to some {refused}"
        );
    }
}

#[tokio::test]
async fn a_tenant_key_is_refused_on_every_route_of_another_tenant() {
    let app = spawn_onboarding_app().await;
    let (own, _) = app.create_tenant().await;
    let (other, _) = app.create_tenant().await;
    let key = key_for(&app, Role::Tenant, &own).await;
    for route in REFUSED_ON_ANOTHER_TENANT.iter().copied() {
        let keys_before = key_count(&app).await;
        let body =
            assert_problem(call(&app, &key, route, &other).await, StatusCode::FORBIDDEN, "forbidden").await;
        let expected = format!("this key is bound to tenant {own} and may not act on tenant {other}");
        assert_eq!(body["detail"], expected.as_str(), "{route:?}");
        assert_eq!(nothing_changed(&app, &other, keys_before).await, Ok(()), "{route:?}");
    }
}

#[tokio::test]
async fn a_tenant_key_reads_only_its_own_tenants_audit_events() {
    let app = spawn_app().await;
    let (own, _) = app.create_tenant().await;
    let (other, _) = app.create_tenant().await;
    let key = key_for(&app, Role::Tenant, &own).await;
    let response = app.client.get(app.url("/admin/v1/audit-events")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let tenants: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|e| e["tenant"].as_str().unwrap()).collect();
    assert!(tenants.contains(&own.as_str()), "{body}");
    assert!(tenants.iter().all(|t| *t == own), "{other} leaked: {body}");
}

#[tokio::test]
async fn a_tenant_keys_patch_is_refused_naming_the_first_field_it_may_not_change() {
    let app = spawn_app().await;
    let (own, _) = app.create_tenant().await;
    let key = key_for(&app, Role::Tenant, &own).await;
    let keys_before = key_count(&app).await;
    for (patch, field) in [
        (json!({"displayName": "Renamed"}), "/displayName"),
        (json!({"status": "suspended"}), "/status"),
        (json!({"limits": {"burst": 1000}}), "/limits"),
        (json!({"entra": {"allowedAppIds": [APP_ID], "tenantId": OTHER_APP_ID}}), "/entra/tenantId"),
        (json!({"entra": null}), "/entra"),
    ] {
        let response = app
            .client
            .patch(app.url(&format!("/admin/v1/tenants/{own}")))
            .bearer_auth(&key)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", "\"1\"")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
        let expected = format!(
            "a key with role tenant may change only /entra/allowedAppIds and /authorization, not {field}"
        );
        assert_eq!(body["detail"], expected.as_str(), "{patch}");
    }
    assert_eq!(nothing_changed(&app, &own, keys_before).await, Ok(()));
}

#[tokio::test]
async fn a_refusal_names_the_role_and_what_it_may_not_do() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let reader = key_for(&app, Role::Reader, &slug).await;
    let response = call(&app, &reader, C::DeleteTenant, &slug).await;
    let body = assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(body["detail"], "a key with role reader may not delete tenants");
    let operator = key_for(&app, Role::Operator, &slug).await;
    let body = assert_problem(
        call(&app, &operator, C::ListAdminKeys, &slug).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(body["detail"], "a key with role operator may not manage admin keys");
}
