use actix_web::{HttpResponse, get, web};
use registry::health::Budget;

use super::{
    AdminError,
    permission::{Caller, Permission},
    tenant::AdminTenant,
};
use crate::{observability::stats, state::AppState};

/// A tenant's exchanges in the last hour and day, summed across replicas: by outcome, cache hits,
/// calls to ACS, and p50/p99 latency. Written by every replica every few seconds; kept two days.
#[utoipa::path(get, path = "/admin/v1/tenants/{slug}/stats", tag = "admin", params(("slug" = String, Path, description = "the tenant's slug")), security(("adminKey" = [])),
    responses((status = 200, body = stats::TenantStats), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/tenants/{slug}/stats")]
pub async fn tenant_stats(
    state: web::Data<AppState>,
    tenant: AdminTenant,
    caller: Caller,
) -> Result<HttpResponse, AdminError> {
    caller.require(Permission::ReadStats(tenant.slug()))?;
    let current = tenant.current().await?;
    let read = stats::tenant_stats(&state.pool, current.id.as_uuid(), tenant.slug().as_str());
    let stats = state.registry.guard(Budget::Request, read).await?;
    Ok(HttpResponse::Ok().json(stats))
}
