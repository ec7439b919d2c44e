use std::{sync::atomic::Ordering, time::Duration};

use actix_web::{HttpResponse, get, http::StatusCode, web};
use registry::{RegistryError, health::Budget, migrate::MigrateError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{problem::Problem, state::AppState};

/// Probes have short timeouts of their own: answer before they give up, whatever the registry budget.
const READY_WITHIN: Duration = Duration::from_secs(2);

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (`/healthz`); `ready` or `degraded` (`/readyz`: Postgres unreachable, known tenants served).
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Ready: Postgres answers and has every migration this binary knows. Degraded (still 200): Postgres
/// cannot be reached, but this replica was ready before and serves the tenants it knows; taking every
/// replica out of rotation during a Postgres failover would turn it into a full outage.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Health),
    (status = 503, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let not_ready = |detail: &str| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", detail);
    let check = async {
        registry::migrate::is_current(&state.pool).await.map_err(|error| match error {
            MigrateError::Connect(error) | MigrateError::Query(error) => RegistryError::Database(error),
            MigrateError::Refinery(_) | MigrateError::TimedOut => RegistryError::Unavailable,
        })
    };
    let checked = tokio::time::timeout(READY_WITHIN, state.registry.guard(Budget::Request, check)).await;
    match checked.unwrap_or(Err(RegistryError::Unavailable)) {
        Ok(true) => {
            state.was_ready.store(true, Ordering::Release);
            Ok(HttpResponse::Ok().json(Health { status: "ready" }))
        }
        Ok(false) => Err(not_ready("database migrations are not current")),
        Err(RegistryError::Unavailable) if state.was_ready.load(Ordering::Acquire) => {
            Ok(HttpResponse::Ok().json(Health { status: "degraded" }))
        }
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            Err(not_ready("postgres is not reachable"))
        }
    }
}
