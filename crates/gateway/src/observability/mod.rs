//! What operations see: Prometheus metrics per tenant (`metrics`), and per-minute statistics kept in
//! Postgres so that they survive restarts and add up across replicas (`stats`).

pub mod metrics;
pub mod stats;

use std::time::Duration;

pub use self::{metrics::Metrics, stats::StatsRecorder};
use crate::{
    exchange::{ExchangeError, Exchanged},
    tenant::{TenantContext, TenantError},
};

/// The tenant label of exchanges that name no existing tenant: one series, not one per invented slug.
pub const UNKNOWN_TENANT: &str = "_unknown";

/// One finished exchange, as both metrics and statistics record it.
#[derive(Debug, Clone, Copy)]
pub struct ExchangeRecord<'a> {
    pub tenant: &'a str,
    pub outcome: &'a str,
    pub duration: Duration,
    pub cache_hit: bool,
}

/// The `tenant` label of a finished exchange: the slug once the tenant was found in the registry,
/// else `_unknown`, so that invented slugs (also while the registry is unreachable) add no series.
/// The handler resolves the tenant after checking the request, so a request refused before (a
/// malformed body) counts under its tenant if this replica has that tenant cached: labelling a refusal
/// costs no query and caches nothing. Once resolved, the context knows the tenant: no second look-up.
pub async fn tenant_label<'a>(
    tenant: &'a TenantContext,
    result: &Result<Exchanged, ExchangeError>,
) -> &'a str {
    match result {
        Err(ExchangeError::Tenant(TenantError::NotFound | TenantError::RegistryUnavailable)) => {
            UNKNOWN_TENANT
        }
        _ if tenant.is_resolved() => tenant.given(),
        Err(ExchangeError::InvalidRequest(_)) if !tenant.is_cached().await => UNKNOWN_TENANT,
        _ => tenant.given(),
    }
}
