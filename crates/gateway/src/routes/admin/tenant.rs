//! The tenant an admin request names, resolved once at the edge as the exchange's
//! [`TenantContext`](crate::tenant::TenantContext) is: [`AdminTenant`] parses `{slug}` when the
//! request is extracted and reads the tenant when the handler first asks, then keeps it. It reads
//! Postgres, not the cache: the version it finds is what ETags and `If-Match` name. Handlers take it
//! after the body, so a body over the limit is still refused (413) before an impossible slug (404).

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use registry::domain::{Tenant, TenantSlug};
use tokio::sync::OnceCell;

use super::AdminError;
use crate::state::AppState;

/// The tenant of `/admin/v1/tenants/{slug}/…`, read from Postgres at most once.
pub struct AdminTenant {
    slug: TenantSlug,
    state: web::Data<AppState>,
    current: OnceCell<Tenant>,
}

impl AdminTenant {
    pub fn slug(&self) -> &TenantSlug {
        &self.slug
    }

    /// The tenant as Postgres has it: read under the request budget on the first call, then kept.
    /// Handlers ask only once they need it, so what they refuse first (a missing `If-Match`, an
    /// invalid body) is refused without a query.
    pub async fn current(&self) -> Result<&Tenant, AdminError> {
        self.current
            .get_or_try_init(|| async {
                self.state.tenants.get(&self.slug).await?.ok_or(AdminError::NotFound)
            })
            .await
    }

    /// The tenant read again, after a concurrent change overtook what was read first.
    pub async fn reread(&mut self) -> Result<&Tenant, AdminError> {
        self.current = OnceCell::new();
        self.current().await
    }
}

impl FromRequest for AdminTenant {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(extract(request, payload))
    }
}

fn extract(request: &HttpRequest, payload: &mut Payload) -> Result<AdminTenant, actix_web::Error> {
    // Decoded, and refused, exactly as `web::Path<String>` would be.
    let given = web::Path::<String>::from_request(request, payload).into_inner()?;
    // A slug that cannot exist names no tenant.
    let slug = TenantSlug::parse(&given).map_err(|_| AdminError::NotFound)?;
    let state = request.app_data::<web::Data<AppState>>().cloned().ok_or(AdminError::Unexpected)?;
    Ok(AdminTenant { slug, state, current: OnceCell::new() })
}
