//! Unauthenticated development endpoints: fault settings, per-user refusals and counters.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::{error::AcsError, faults::Faults, refusals::RefusalSetting, state::Shared};

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

/// `GET /dev/users/{oid}/refusal`: 200 `{"code"}`, or 404 when the user is served.
pub(crate) async fn get_refusal(
    shared: web::Data<Shared>,
    oid: web::Path<String>,
) -> Result<HttpResponse, AcsError> {
    let refusal = shared.refusals.of(user_id(&oid)?).ok_or_else(AcsError::no_refusal)?;
    Ok(HttpResponse::Ok().json(RefusalSetting { code: refusal }))
}

/// `POST /dev/users/{oid}/refusal` with `{"code": "<ACS code>"}`: the user's exchanges are refused from
/// the next request on; 200 with the setting.
pub(crate) async fn set_refusal(
    shared: web::Data<Shared>,
    oid: web::Path<String>,
    setting: web::Json<RefusalSetting>,
) -> Result<HttpResponse, AcsError> {
    let (oid, setting) = (user_id(&oid)?, setting.into_inner());
    shared.refusals.set(oid, Some(setting.code));
    tracing::info!(%oid, code = setting.code.code(), "emulator refuses the user's exchanges");
    Ok(HttpResponse::Ok().json(setting))
}

/// `DELETE /dev/users/{oid}/refusal`: the user is served again; 204 (also when none was set). An
/// unlicensed test user of the linked dev issuer stays refused: the licence is the issuer's to give.
pub(crate) async fn delete_refusal(
    shared: web::Data<Shared>,
    oid: web::Path<String>,
) -> Result<HttpResponse, AcsError> {
    let oid = user_id(&oid)?;
    shared.refusals.set(oid, None);
    tracing::info!(%oid, "emulator serves the user's exchanges again");
    Ok(HttpResponse::NoContent().finish())
}

fn user_id(oid: &str) -> Result<Uuid, AcsError> {
    Uuid::parse_str(oid).map_err(|_| AcsError::validation("oid", "The user id must be a GUID."))
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
