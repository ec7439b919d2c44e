//! Unauthenticated development endpoints: fault settings and counters.

use actix_web::{HttpResponse, web};

use super::{error::AcsError, faults::Faults, state::Shared};

/// `GET /dev/faults`.
pub(crate) async fn get_faults(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.faults())
}

/// `POST /dev/faults`: replaces every setting (absent fields become zero); 200 with the new settings.
pub(crate) async fn set_faults(
    shared: web::Data<Shared>,
    faults: web::Json<Faults>,
) -> Result<HttpResponse, AcsError> {
    let faults = faults.into_inner();
    faults.validate().map_err(AcsError::malformed_body)?;
    shared.set_faults(faults.clone());
    tracing::info!(?faults, "emulator faults replaced");
    Ok(HttpResponse::Ok().json(faults))
}

/// `GET /dev/stats`.
pub(crate) async fn get_stats(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.stats())
}

/// `POST /dev/stats:reset`: 204.
pub(crate) async fn reset_stats(shared: web::Data<Shared>) -> HttpResponse {
    shared.reset_stats();
    HttpResponse::NoContent().finish()
}
