//! What operations see: Prometheus metrics per tenant (`metrics`), and per-minute statistics kept in
//! Postgres so that they survive restarts and add up across replicas (`stats`).

pub mod metrics;
pub mod stats;

use std::time::Duration;

pub use self::{metrics::Metrics, stats::StatsRecorder};

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
