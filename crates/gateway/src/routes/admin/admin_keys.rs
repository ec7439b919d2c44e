//! `/admin/v1/admin-keys`: create (the key is in that answer only), list (never a key or its hash),
//! revoke. `owner` keys only. Revoking is idempotent: a key already revoked answers `204` again and
//! keeps its first revocation time; an unknown id is `404`.

use actix_web::{HttpRequest, HttpResponse, delete, get, http::header, post, web};
use chrono::{DateTime, Utc};
use registry::{
    RegistryError,
    admin_keys::{self, AdminKey, AdminKeyName, AdminKeyScope, NewAdminKey, Role},
    domain::TenantSlug,
    health::Budget,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AdminError,
    actor::AdminActor,
    body::{parse_body, validation},
    permission::{Caller, Permission},
};
use crate::{problem::FieldError, state::AppState};

type Response = Result<HttpResponse, AdminError>;

/// An admin key's role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdminKeyRole {
    Owner,
    Operator,
    Reader,
    Tenant,
}

impl From<Role> for AdminKeyRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Operator => Self::Operator,
            Role::Reader => Self::Reader,
            Role::Tenant => Self::Tenant,
        }
    }
}

/// A key to create.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAdminKeyRequest {
    /// Who the key is for, shown as the actor in audit events: `[A-Za-z0-9._@-]{1,64}`.
    #[schema(example = "ops@contoso")]
    name: String,
    #[schema(value_type = AdminKeyRole)]
    role: String,
    /// The tenant (slug) a `tenant` key is bound to; only for role `tenant`.
    #[serde(default)]
    tenant: Option<String>,
    /// When the key stops working (RFC 3339, in the future); never, when absent.
    #[serde(default)]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

/// An admin key as listed: never the key itself, nor its hash.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminKeyView {
    id: Uuid,
    name: String,
    role: AdminKeyRole,
    /// The tenant a `tenant` key is bound to.
    tenant: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    /// Recorded every few seconds, not on each request: at most that late.
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<&AdminKey> for AdminKeyView {
    fn from(key: &AdminKey) -> Self {
        Self {
            id: key.id,
            name: key.name.clone(),
            role: key.scope.role().into(),
            tenant: key.scope.tenant().map(|slug| slug.as_str().to_owned()),
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

/// A key just created: the only answer that carries the key.
#[derive(Serialize, ToSchema)]
pub struct CreatedAdminKey {
    #[serde(flatten)]
    view: AdminKeyView,
    /// The key, shown this once: only its hash is stored.
    key: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdminKeyList {
    items: Vec<AdminKeyView>,
}

/// Create an admin key; the answer is the only time the key is shown. `owner` keys only.
#[utoipa::path(post, path = "/admin/v1/admin-keys", tag = "admin", request_body = CreateAdminKeyRequest,
    security(("adminKey" = [])),
    responses((status = 201, body = CreatedAdminKey), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[post("/admin-keys")]
pub async fn create_admin_key(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::ManageAdminKeys)?;
    let new = new_key(&parse_body(&request, &body)?, Utc::now())?;
    let create = admin_keys::create_with(&state.pool, &new, &actor);
    let (created, key) =
        state.registry.guard(Budget::Request, create).await.map_err(|error| match error {
            RegistryError::NotFound => validation("/tenant", "no tenant has this slug"),
            other => other.into(),
        })?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedAdminKey { view: AdminKeyView::from(&created), key: key.expose_secret().to_owned() }))
}

/// List every admin key, revoked and expired ones included, newest first. `owner` keys only.
#[utoipa::path(get, path = "/admin/v1/admin-keys", tag = "admin", security(("adminKey" = [])),
    responses((status = 200, body = AdminKeyList), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/admin-keys")]
pub async fn list_admin_keys(state: web::Data<AppState>, caller: Caller) -> Response {
    caller.require(Permission::ManageAdminKeys)?;
    let keys = state.registry.guard(Budget::Request, admin_keys::list(&state.pool)).await?;
    Ok(HttpResponse::Ok().json(AdminKeyList { items: keys.iter().map(AdminKeyView::from).collect() }))
}

/// Revoke an admin key: every replica refuses it (401) from the moment this answers. Revoking a
/// revoked key answers 204 again. `owner` keys only.
#[utoipa::path(delete, path = "/admin/v1/admin-keys/{id}", tag = "admin",
    params(("id" = String, Path, description = "the key's id")), security(("adminKey" = [])),
    responses((status = 204), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[delete("/admin-keys/{id}")]
pub async fn revoke_admin_key(
    state: web::Data<AppState>,
    id: web::Path<String>,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::ManageAdminKeys)?;
    // An id that cannot exist names no key.
    let id = Uuid::try_parse(&id).map_err(|_| AdminError::AdminKeyNotFound)?;
    let revoke = admin_keys::revoke(&state.pool, id, &actor);
    state.registry.guard(Budget::Request, revoke).await.map_err(|error| match error {
        RegistryError::NotFound => AdminError::AdminKeyNotFound,
        other => other.into(),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

/// The request as the key to create, every invalid field named.
fn new_key(body: &CreateAdminKeyRequest, now: DateTime<Utc>) -> Result<NewAdminKey, AdminError> {
    let mut errors = Vec::new();
    let mut refuse = |field: &str, message: String| errors.push(FieldError { field: field.into(), message });
    let name = AdminKeyName::parse(&body.name).map_err(|e| refuse("/name", e.to_string())).ok();
    let role = Role::parse(&body.role).map_err(|e| refuse("/role", e.to_string())).ok();
    let tenant = match body.tenant.as_deref().map(TenantSlug::parse) {
        None => Some(None),
        Some(Ok(slug)) => Some(Some(slug)),
        Some(Err(e)) => {
            refuse("/tenant", e.to_string());
            None
        }
    };
    let scope = match (role, tenant) {
        (Some(role), Some(tenant)) => {
            AdminKeyScope::new(role, tenant).map_err(|e| refuse("/tenant", e.to_string())).ok()
        }
        _ => None,
    };
    let expires_at = match body.expires_at.as_deref().map(DateTime::parse_from_rfc3339) {
        None => Some(None),
        Some(Ok(at)) if at.with_timezone(&Utc) > now => Some(Some(at.with_timezone(&Utc))),
        Some(Ok(_)) => {
            refuse("/expiresAt", "must be in the future".into());
            None
        }
        Some(Err(_)) => {
            refuse("/expiresAt", "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z".into());
            None
        }
    };
    match (name, scope, expires_at) {
        (Some(name), Some(scope), Some(expires_at)) if errors.is_empty() => {
            Ok(NewAdminKey { name, scope, expires_at })
        }
        _ => Err(AdminError::Validation(errors)),
    }
}
