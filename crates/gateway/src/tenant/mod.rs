//! The tenant of a request, resolved once at the edge: [`TenantContext`] is an extractor (as svix
//! resolves the application in one) that takes the slug from the path (`{tenant}`) or, on the
//! hero-compatible route, from `X-Tenant`, fetches the tenant once from the cache when the handler
//! first asks, and carries its [`TenantRuntime`] down the call. The metric label comes from it.

mod runtime;

use std::{
    future::{Ready, ready},
    sync::{Arc, OnceLock},
};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use registry::{
    RegistryError,
    cache::TenantCache,
    domain::{TenantSlug, TenantStatus},
    sealing::Keyring,
};
use url::Url;

use self::runtime::RuntimeCache;
pub use self::runtime::TenantRuntime;
use crate::{
    category::{Category, ClientFault, Outage, TenantFault},
    problem::Problem,
};

/// Why a request's tenant could not be resolved. Cloneable, so that every waiter of a coalesced
/// exchange gets the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TenantError {
    #[error("no such tenant")]
    NotFound,
    #[error("tenant is suspended")]
    Suspended,
    /// A `pending` tenant: its customer's admin has not connected its Microsoft 365 tenant yet.
    #[error("tenant is not connected yet: its Microsoft 365 admin has not accepted the invitation")]
    NotConnected,
    /// Postgres cannot be reached and this replica does not know the tenant (or knew it too long ago).
    #[error("the tenant registry is unreachable and this tenant is not known here; try again shortly")]
    RegistryUnavailable,
    #[error("internal error")]
    Internal(#[source] Arc<anyhow::Error>),
}

impl TenantError {
    /// Whose problem this is.
    pub fn category(&self) -> Category {
        match self {
            Self::NotFound => Category::Client(ClientFault::UnknownTenant),
            Self::Suspended => Category::Tenant(TenantFault::Suspended),
            Self::NotConnected => Category::Tenant(TenantFault::NotConnected),
            // Postgres is down: nothing the caller did, and worth retrying shortly.
            Self::RegistryUnavailable => Category::Upstream {
                outage: Outage::Unavailable,
                retry_after: Some(registry::health::RETRY_AFTER.as_secs()),
            },
            Self::Internal(_) => Category::Bug,
        }
    }

    fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(Arc::new(error.into()))
    }
}

/// Finds tenants in the cache and keeps their runtimes, one per tenant version.
pub struct TenantResolver {
    cache: TenantCache,
    runtimes: RuntimeCache,
}

impl TenantResolver {
    /// `runtime_bytes`: the memory the tenants' runtimes (opened secrets) may take.
    pub fn new(cache: TenantCache, keyring: Arc<Keyring>, authority_host: Url, runtime_bytes: u64) -> Self {
        Self { cache, runtimes: RuntimeCache::new(keyring, authority_host, runtime_bytes) }
    }
}

/// The tenant a request names, resolved at most once.
pub struct TenantContext {
    given: String,
    resolver: web::Data<TenantResolver>,
    runtime: OnceLock<Arc<TenantRuntime>>,
}

impl TenantContext {
    /// The slug as the request gave it (empty when it gave none).
    pub fn given(&self) -> &str {
        &self.given
    }

    /// The tenant's runtime, for an exchange: fetched from the cache on the first call, then kept.
    /// A suspended or pending tenant is refused before its secrets are opened.
    pub async fn runtime(&self) -> Result<Arc<TenantRuntime>, TenantError> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime.clone());
        }
        let slug = TenantSlug::parse(&self.given).map_err(|_| TenantError::NotFound)?;
        let tenant = self
            .resolver
            .cache
            .get(&slug)
            .await
            .map_err(|error| match error {
                RegistryError::Unavailable => TenantError::RegistryUnavailable,
                other => TenantError::internal(other),
            })?
            .ok_or(TenantError::NotFound)?;
        match tenant.status {
            TenantStatus::Active => {}
            TenantStatus::Suspended => return Err(TenantError::Suspended),
            TenantStatus::Pending => return Err(TenantError::NotConnected),
        }
        let runtime = self.resolver.runtimes.get(tenant).map_err(TenantError::internal)?;
        Ok(self.runtime.get_or_init(|| runtime).clone())
    }

    /// Whether [`runtime`](Self::runtime) found the tenant.
    pub fn is_resolved(&self) -> bool {
        self.runtime.get().is_some()
    }

    /// Whether this replica has the tenant cached, without a query and without caching anything: how
    /// a request refused before its tenant was resolved is labelled.
    pub async fn is_cached(&self) -> bool {
        match TenantSlug::parse(&self.given) {
            Ok(slug) => self.resolver.cache.peek(&slug).await.is_some(),
            Err(_) => false,
        }
    }
}

impl FromRequest for TenantContext {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(resolver) = request.app_data::<web::Data<TenantResolver>>().cloned() else {
            tracing::error!("no tenant resolver registered with the app");
            return ready(Err(Problem::internal().into()));
        };
        let given = match request.match_info().get("tenant") {
            // Percent-decoded as `web::Path<String>` would decode it.
            Some(raw) => request.match_info().load::<String>().unwrap_or_else(|_| raw.to_owned()),
            None => request
                .headers()
                .get("x-tenant")
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .unwrap_or_default()
                .to_owned(),
        };
        ready(Ok(Self { given, resolver, runtime: OnceLock::new() }))
    }
}
