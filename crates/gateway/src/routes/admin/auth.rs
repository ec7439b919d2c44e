//! Admin requests carry `Authorization: Bearer <admin key>`; the key's hash must be a live admin key:
//! known, not revoked, not expired. The key is looked up in Postgres on every request, so that a
//! revocation holds on every replica as soon as it commits. What the key's role allows is checked
//! by each handler ([`super::permission`]).

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};
use registry::{
    admin_keys::{self, Authentication},
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
    let found = state.registry.guard(Budget::Request, admin_keys::authenticate(&state.pool, &hash)).await;
    let principal = match found.map_err(AdminError::from)? {
        Authentication::Valid(principal) => principal,
        Authentication::Unknown => return Err(AdminError::Unauthorized("admin key not recognised").into()),
        Authentication::Revoked => return Err(AdminError::Unauthorized("admin key revoked").into()),
        Authentication::Expired => return Err(AdminError::Unauthorized("admin key expired").into()),
        Authentication::TenantGone => {
            return Err(AdminError::Unauthorized("the admin key's tenant no longer exists").into());
        }
    };
    state.admin_key_usage.record(principal.key_id);
    tracing::Span::current().record("admin", principal.name.as_str());
    req.extensions_mut().insert(principal);
    next.call(req).await
}
