use std::time::Duration;

use actix_web::{HttpResponse, get, http::StatusCode, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{problem::Problem, startup::AppState};

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Postgres answers and has every migration this binary knows.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Health),
    (status = 503, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let not_ready = |detail: &str| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", detail);
    // Probes have short timeouts of their own; answer before they give up.
    let check = tokio::time::timeout(Duration::from_secs(2), registry::migrate::is_current(&state.pool));
    match check.await.unwrap_or(Err(registry::migrate::MigrateError::TimedOut)) {
        Ok(true) => Ok(HttpResponse::Ok().json(Health { status: "ready" })),
        Ok(false) => Err(not_ready("database migrations are not current")),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            Err(not_ready("postgres is not reachable"))
        }
    }
}
