//! `/admin/v1/tenants`: create, list, read, merge-patch, rotate the ACS connection, delete.

use actix_web::{HttpRequest, HttpResponse, delete, get, http::header, patch, post, put, web};
use registry::{RegistryError, domain::Tenant, tenants::ListCursor};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AdminError,
    actor::AdminActor,
    body::parse_body,
    decode,
    if_match::{IfMatch, expected_version},
    input::{self, AcsInput, CreateTenantRequest, Problems},
    merge::TenantPatch,
    permission::{Caller, Permission},
    tenant::AdminTenant,
    view::TenantView,
};
use crate::state::AppState;

type Response = Result<HttpResponse, AdminError>;

/// How often a PATCH with `If-Match: *` is merged again onto a version a concurrent change wrote.
const ANY_VERSION_ATTEMPTS: usize = 16;

const IF_MATCH_OPTIONAL: &str = "when sent, the change applies only if the tenant is at a version it lists (any of a list may match), or exists (`*`)";

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantList {
    items: Vec<TenantView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1 to 200, default 50
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `nextCursor` of the previous page
    cursor: Option<String>,
}

/// Create a tenant.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "admin", request_body = CreateTenantRequest,
    security(("adminKey" = [])),
    responses((status = 201, body = TenantView, headers(("Location"), ("ETag"))), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[post("/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::CreateTenant)?;
    let new = decode::new_tenant(parse_body(&request, &body)?, state.transport)?;
    let tenant = state.tenants.create(new, &actor).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/admin/v1/tenants/{}", tenant.slug)))
        .insert_header((header::ETAG, etag(tenant.version)))
        .json(TenantView::from(&tenant)))
}

/// List tenants, newest first.
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "admin", params(ListQuery), security(("adminKey" = [])),
    responses((status = 200, body = TenantList), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/tenants")]
pub async fn list_tenants(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    caller: Caller,
) -> Response {
    caller.require(Permission::ListTenants)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AdminError::InvalidRequest("limit must be between 1 and 200".into()));
    }
    let cursor = match &query.cursor {
        None => None,
        Some(raw) => {
            Some(ListCursor::decode(raw).ok_or(AdminError::InvalidRequest("cursor is not valid".into()))?)
        }
    };
    let (tenants, next) = state.tenants.list(limit, cursor).await?;
    Ok(HttpResponse::Ok().json(TenantList {
        items: tenants.iter().map(TenantView::from).collect(),
        next_cursor: next.map(|c| c.encode()),
    }))
}

/// Read a tenant.
#[utoipa::path(get, path = "/admin/v1/tenants/{slug}", tag = "admin", params(("slug" = String, Path, description = "the tenant's slug")), security(("adminKey" = [])),
    responses((status = 200, body = TenantView, headers(("ETag"))), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/tenants/{slug}")]
pub async fn read_tenant(tenant: AdminTenant, caller: Caller) -> Response {
    caller.require(Permission::ReadTenant(tenant.slug()))?;
    Ok(tenant_response(tenant.current().await?))
}

/// Change a tenant with a JSON merge patch (RFC 7396). `If-Match` is required. Changing the
/// authorization `type` or the Entra `authority` replaces that object rather than merging into it.
#[utoipa::path(patch, path = "/admin/v1/tenants/{slug}", tag = "admin", security(("adminKey" = [])),
    request_body(content = TenantPatch, content_type = "application/merge-patch+json"),
    params(("slug" = String, Path, description = "the tenant's slug"), ("If-Match" = String, Header, description = "the ETag of the version being changed (any of a list may match), or `*`")),
    responses((status = 200, body = TenantView, headers(("ETag"))), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[patch("/tenants/{slug}")]
pub async fn patch_tenant(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
    mut tenant: AdminTenant,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::EditTenant(tenant.slug()))?;
    let expected = IfMatch::from_headers(request.headers())?.ok_or(AdminError::PreconditionRequired)?;
    let mut version = expected.admit(tenant.current().await?.version)?;
    let patch: serde_json::Value = parse_body(&request, &body)?;
    caller.may_patch(&patch)?;
    // `*` asks only that the tenant exist: a concurrent change is not a conflict, the patch is merged
    // again onto what it wrote. Listed versions are checked as the registry writes (412).
    let mut attempts = 1;
    loop {
        let changes = decode::changes(tenant.current().await?, patch.clone(), state.transport)?;
        match state.tenants.update(tenant.slug(), Some(version), changes, &actor).await {
            Err(RegistryError::VersionMismatch { .. })
                if expected == IfMatch::Any && attempts < ANY_VERSION_ATTEMPTS =>
            {
                attempts += 1;
                version = tenant.reread().await?.version;
            }
            written => return Ok(tenant_response(&written?)),
        }
    }
}

/// Replace the ACS connection (key rotation). `If-Match` is honoured when sent.
#[utoipa::path(put, path = "/admin/v1/tenants/{slug}/acs", tag = "admin",
    params(("slug" = String, Path, description = "the tenant's slug"), ("If-Match" = Option<String>, Header, description = IF_MATCH_OPTIONAL)), request_body = AcsInput, security(("adminKey" = [])),
    responses((status = 200, body = TenantView, headers(("ETag"))), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[put("/tenants/{slug}/acs")]
pub async fn replace_tenant_acs(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
    tenant: AdminTenant,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::RotateAcs(tenant.slug()))?;
    let if_match = IfMatch::from_headers(request.headers())?;
    let body: AcsInput = parse_body(&request, &body)?;
    let mut p = Problems::default();
    let acs = input::acs(&mut p, "", body, state.transport);
    p.into_result().map_err(AdminError::Validation)?;
    let acs = acs.ok_or(AdminError::Unexpected)?;
    let expected = expected_version(if_match, &tenant).await?;
    let replaced = state.tenants.replace_acs(tenant.slug(), expected, acs, &actor).await?;
    Ok(tenant_response(&replaced))
}

/// Delete a tenant; its exchanges answer 404 at once on every replica. `If-Match` is honoured when sent.
#[utoipa::path(delete, path = "/admin/v1/tenants/{slug}", tag = "admin",
    params(("slug" = String, Path, description = "the tenant's slug"), ("If-Match" = Option<String>, Header, description = IF_MATCH_OPTIONAL)), security(("adminKey" = [])),
    responses((status = 204), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[delete("/tenants/{slug}")]
pub async fn delete_tenant(
    state: web::Data<AppState>,
    request: HttpRequest,
    tenant: AdminTenant,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::DeleteTenant(tenant.slug()))?;
    let expected = expected_version(IfMatch::from_headers(request.headers())?, &tenant).await?;
    state.tenants.delete(tenant.slug(), expected, &actor).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// 200 with the tenant and its ETag.
fn tenant_response(tenant: &Tenant) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::ETAG, etag(tenant.version))).json(TenantView::from(tenant))
}

fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
