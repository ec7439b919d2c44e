//! Admin requests carry `Authorization: Bearer <admin key>`; the key's hash must be a live admin key.

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};
use registry::{
    admin_keys::{self, AdminPrincipal},
    health::Budget,
};

use super::AdminError;
use crate::state::AppState;

pub async fn require_admin_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= 256)
        .ok_or(AdminError::Unauthorized("missing admin key (Authorization: Bearer <key>)"))?;
    let state = req.app_data::<web::Data<AppState>>().cloned().ok_or(AdminError::Unexpected)?;
    let hash = admin_keys::key_hash(presented);
    let principal: AdminPrincipal = state
        .registry
        .guard(Budget::Request, admin_keys::authenticate(&state.pool, &hash))
        .await
        .map_err(AdminError::from)?
        .ok_or(AdminError::Unauthorized("admin key not recognised"))?;
    tracing::Span::current().record("admin", principal.name.as_str());
    req.extensions_mut().insert(principal);
    next.call(req).await
}
