//! What handlers share: built once by [`crate::startup::Application::build`], read by the routes,
//! the extractors and the background tasks.

use std::sync::{Arc, atomic::AtomicBool};

use registry::{
    admin_keys::KeyUsage, cache::TenantCache, domain::Transport, health::RegistryHealth, tenants::TenantStore,
};
use sqlx::PgPool;

use crate::{
    exchange::Exchanger,
    observability::{Metrics, StatsRecorder},
    settings::OnboardingSettings,
};

/// What handlers share.
pub struct AppState {
    pub pool: PgPool,
    /// Whether Postgres answers; every registry call goes through it.
    pub registry: RegistryHealth,
    pub tenants: TenantStore,
    pub tenant_cache: TenantCache,
    pub transport: Transport,
    pub exchanger: Exchanger,
    pub metrics: Arc<Metrics>,
    pub stats: Arc<StatsRecorder>,
    /// Admin keys used since the last flush; written with the statistics.
    pub admin_key_usage: KeyUsage,
    /// Whether `/readyz` has found Postgres migrated once: such a replica stays in rotation while
    /// Postgres is unreachable.
    pub was_ready: AtomicBool,
    /// Invitations and the customer's onboarding pages, when configured.
    pub onboarding: OnboardingSettings,
}
