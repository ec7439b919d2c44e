use actix_web::{HttpResponse, get, web};
use registry::{
    audit::{self, AuditEvent},
    domain::TenantSlug,
    health::Budget,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AdminError,
    permission::{Caller, Permission},
};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this tenant's events (its slug).
    #[param(pattern = "^[a-z0-9-]{3,63}$")]
    tenant: Option<String>,
    /// 1 to 500, default 50
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventList {
    #[schema(value_type = Vec<Object>)]
    items: Vec<AuditEvent>,
}

/// Who changed what and when, newest first; never secret values. A `tenant` key reads its own
/// tenant's events only (without `tenant`, those are what it gets).
#[utoipa::path(get, path = "/admin/v1/audit-events", tag = "admin", params(AuditQuery), security(("adminKey" = [])),
    responses((status = 200, body = AuditEventList), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
    caller: Caller,
) -> Result<HttpResponse, AdminError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AdminError::InvalidRequest("limit must be between 1 and 500".into()));
    }
    let tenant = match &query.tenant {
        None => None,
        Some(raw) => {
            Some(TenantSlug::parse(raw).map_err(|e| AdminError::InvalidRequest(format!("tenant {e}")))?)
        }
    };
    let tenant = tenant.or_else(|| caller.bound_tenant().cloned());
    caller.require(Permission::ReadAudit(tenant.as_ref()))?;
    let read = audit::list(&state.pool, tenant.as_ref(), i64::from(limit));
    let items = state.registry.guard(Budget::Request, read).await?;
    Ok(HttpResponse::Ok().json(AuditEventList { items }))
}
