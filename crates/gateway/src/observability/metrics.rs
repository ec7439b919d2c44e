//! Prometheus metrics. Every metric is described from the first scrape (HELP and TYPE, even before
//! it has a series); labels are bounded and never name a user, token or request.
//!
//! Series per tenant are few, so that `/metrics` stays small with 100 000 tenants: only the counters
//! the per-tenant alerts read carry `tenant`, and a tenant whose exchanges all succeed has two series
//! (`ok` exchanges, `200` calls to ACS). Latency histograms, cache hits and signing-key series are
//! for all tenants together; each tenant's latency percentiles come from the stats endpoint, and its
//! slow exchanges are counted. A deleted tenant's series are removed without reading any other
//! tenant's.

mod by_tenant;
mod families;
mod signing_keys;

use std::{collections::BTreeSet, fmt::Write as _, sync::Arc, time::Duration};

use prometheus::{
    Encoder, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, TextEncoder,
};

use self::{
    by_tenant::ByTenant,
    families::{Catalogue, Family, escape_help},
};
use super::{ExchangeRecord, UNKNOWN_TENANT};

/// Upstream `status` values: the HTTP codes ACS is known to answer, classes for the rest, and
/// transport failures.
pub const STATUSES: &[&str] = &[
    "200",
    "400",
    "401",
    "403",
    "404",
    "408",
    "409",
    "429",
    "500",
    "502",
    "503",
    "504",
    "other_4xx",
    "other_5xx",
    "other",
    "connect_error",
    "timeout",
    "io_error",
];

pub struct Metrics {
    registry: prometheus::Registry,
    /// Every registry family, so that those without series yet are described too.
    families: Vec<Family>,
    /// Every family labelled by `tenant`, by name.
    by_tenant: Vec<Arc<ByTenant>>,
    /// Exchanges that took longer than this count as slow.
    slow_exchange: Duration,
    exchange_requests: Arc<ByTenant>,
    exchange_slow: Arc<ByTenant>,
    exchange_duration: HistogramVec,
    upstream_requests: Arc<ByTenant>,
    upstream_duration: Histogram,
    cache_hits: IntCounter,
    rate_limited: Arc<ByTenant>,
    token_rejections: Arc<ByTenant>,
    credential_rejected: Arc<ByTenant>,
    key_fetches: IntCounterVec,
    tenant_cache_events: IntCounterVec,
    pub in_flight: IntGauge,
    key_age: IntGaugeVec,
    breaker_state: Arc<ByTenant>,
    live_replicas: IntGauge,
    registry_unreachable: IntGauge,
    /// Brought up to the log writer's own count at each scrape (under the lock, so never twice).
    log_lines_dropped: std::sync::Mutex<IntCounter>,
}

/// The `status` label of an upstream call (an HTTP code or a transport failure): a known value, or
/// the code's class, so that the label stays bounded.
pub fn status_label(raw: &str) -> &'static str {
    if let Some(known) = STATUSES.iter().find(|s| **s == raw) {
        return known;
    }
    match raw.parse::<u16>() {
        Ok(400..=499) => "other_4xx",
        Ok(500..=599) => "other_5xx",
        _ => "other",
    }
}

/// The `result` label of the exchange latency histogram: answered from the cache, after a call to
/// ACS, or refused (any error).
fn result_label(record: &ExchangeRecord<'_>) -> &'static str {
    match (record.outcome, record.cache_hit) {
        ("ok", true) => "hit",
        ("ok", false) => "miss",
        _ => "error",
    }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Builds and describes every metric. Names and help texts are fixed: a clash is a bug.
    /// Exchanges slower than `slow_exchange` are counted per tenant.
    pub fn new(slow_exchange: Duration) -> Self {
        let r = Catalogue::default();
        let build = r.gauge_vec("acsgw_build_info", "The running version.", &["version"]);
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Self {
            slow_exchange,
            exchange_requests: r.tenant_counter(
                "acsgw_exchange_requests_total",
                "Exchanges answered, by tenant and outcome (ok or the error code).",
                Some("outcome"),
            ),
            exchange_slow: r.tenant_counter(
                "acsgw_exchange_slow_total",
                "Exchanges answered (any outcome) after more than ACSGW_SLOW_EXCHANGE_MS, by tenant.",
                None,
            ),
            exchange_duration: r.histogram_vec(
                "acsgw_exchange_duration_seconds",
                "Time to answer an exchange, all tenants, by result (hit: from the cache, miss: after \
                 calling ACS, error).",
                &["result"],
            ),
            upstream_requests: r.tenant_counter(
                "acsgw_upstream_requests_total",
                "Calls to the tenant's ACS resource (each attempt), by tenant and status.",
                Some("status"),
            ),
            upstream_duration: r
                .histogram("acsgw_upstream_duration_seconds", "Duration of each call to ACS, all tenants."),
            cache_hits: r.counter(
                "acsgw_exchange_cache_hits_total",
                "Exchanges answered from the result cache, all tenants.",
            ),
            rate_limited: r.tenant_counter(
                "acsgw_rate_limited_total",
                "Exchanges refused by a rate limit of the gateway (the tenant's or one user's), by tenant.",
                None,
            ),
            token_rejections: r.tenant_counter(
                "acsgw_token_rejections_total",
                "Entra tokens (A1) refused, by tenant and reason (the validator's, or acs_invalid_token).",
                Some("reason"),
            ),
            credential_rejected: r.tenant_counter(
                "acsgw_acs_credential_rejected_total",
                "Times ACS or Entra refused the gateway's own credential for a tenant.",
                None,
            ),
            key_fetches: r.counter_vec(
                "acsgw_signing_key_fetches_total",
                "Fetches of Entra metadata and signing keys, by authority kind (common and organizations/v2.0: \
                 shared by every tenant; tenant and tenant/v2.0: a tenant's own) and result.",
                &["authority", "result"],
            ),
            tenant_cache_events: r.counter_vec(
                "acsgw_tenant_cache_events_total",
                "Tenant cache events (hit, miss, invalidated, cleared, listener_lost).",
                &["event"],
            ),
            in_flight: r.gauge("acsgw_http_requests_in_flight", "HTTP requests being served."),
            key_age: r.gauge_vec(
                "acsgw_signing_key_age_seconds",
                "Seconds since each Entra signing key in use was last seen in its key set, by authority kind \
                 (the oldest, where several key sets list it).",
                &["authority", "kid"],
            ),
            breaker_state: r.tenant_gauge(
                "acsgw_acs_circuit_breaker_state",
                "ACS circuit breaker per tenant with recent failures: 0 closed, 1 half-open, 2 open.",
            ),
            live_replicas: r.gauge(
                "acsgw_live_replicas",
                "Gateway replicas this one counts (each enforces 1/N of every tenant limit).",
            ),
            registry_unreachable: r.gauge(
                "acsgw_registry_unreachable_seconds",
                "Seconds since this replica found Postgres unreachable (0 while it answers); known tenants \
                 are served from memory up to ACSGW_TENANT_STALE_IF_ERROR_SECONDS.",
            ),
            log_lines_dropped: std::sync::Mutex::new(r.counter(
                "acsgw_log_lines_dropped_total",
                "Log lines dropped because the log writer could not keep up (its queue, ACSGW_LOG_QUEUE_LINES, \
                 was full).",
            )),
            families: r.families.into_inner(),
            by_tenant: {
                let mut by_tenant = r.by_tenant.into_inner();
                by_tenant.sort_by(|a, b| a.name().cmp(b.name()));
                by_tenant
            },
            registry: r.registry,
        }
    }

    pub fn exchange(&self, record: &ExchangeRecord<'_>) {
        self.exchange_requests.inc_with(record.tenant, record.outcome);
        self.exchange_duration
            .with_label_values(&[result_label(record)])
            .observe(record.duration.as_secs_f64());
        if record.duration > self.slow_exchange {
            self.exchange_slow.inc(record.tenant);
        }
        if record.cache_hit {
            self.cache_hits.inc();
        }
    }

    pub fn rate_limited(&self, tenant: &str) {
        self.rate_limited.inc(tenant);
    }

    /// One refused A1; `reason` is from a bounded set (entra's rejection reasons).
    pub fn token_rejection(&self, tenant: &str, reason: &str) {
        self.token_rejections.inc_with(tenant, reason);
    }

    pub fn credential_rejected(&self, tenant: &str) {
        self.credential_rejected.inc(tenant);
    }

    /// One call to ACS; `status` is one of [`STATUSES`] (see [`status_label`]).
    pub fn upstream(&self, tenant: &str, status: &str, seconds: f64) {
        self.upstream_requests.inc_with(tenant, status);
        self.upstream_duration.observe(seconds);
    }

    /// One fetch of metadata or keys; `authority` is what the validator labels it with (a key source).
    pub fn key_fetch(&self, authority: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.key_fetches.with_label_values(&[signing_keys::authority_kind(authority), result]).inc();
    }

    pub fn tenant_cache_event(&self, event: &str) {
        self.tenant_cache_events.with_label_values(&[event]).inc();
    }

    /// Gauges computed at scrape time, replacing the previous values. `key_ages` are the validator's
    /// `(authority, kid, age)`, labelled by authority kind.
    pub fn set_live(
        &self,
        replicas: u32,
        key_ages: &[(String, String, Duration)],
        breakers: &[(String, i64)],
    ) {
        self.live_replicas.set(i64::from(replicas));
        self.key_age.reset();
        for ((kind, kid), age) in signing_keys::key_ages(key_ages) {
            self.key_age.with_label_values(&[kind, kid]).set(seconds(age));
        }
        self.breaker_state.reset();
        for (tenant, state) in breakers {
            self.breaker_state.set(tenant, *state);
        }
    }

    /// How long Postgres has been unreachable, read at scrape time.
    pub fn set_registry_down_for(&self, down_for: Option<Duration>) {
        self.registry_unreachable.set(down_for.map_or(0, |d| seconds(d).max(1)));
    }

    /// Removes every series of these (deleted) tenants, whatever their other labels: one removal per
    /// family, whatever the other tenants.
    pub fn forget_tenants(&self, tenants: &[&str]) {
        for tenant in tenants {
            for family in &self.by_tenant {
                family.forget(tenant);
            }
        }
    }

    /// The tenants that have series now (not `_unknown`).
    pub fn tenants_with_series(&self) -> BTreeSet<String> {
        let mut tenants = BTreeSet::new();
        for family in &self.by_tenant {
            family.tenants(&mut tenants);
        }
        tenants.remove(UNKNOWN_TENANT);
        tenants
    }

    /// The Prometheus text format: the registry's families, then those labelled by `tenant`. Families
    /// without series yet (which the encoder leaves out) are still described, so every metric has its
    /// HELP and TYPE from the first scrape.
    pub fn render(&self) -> String {
        {
            let counter = self.log_lines_dropped.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            counter.inc_by(crate::telemetry::dropped_log_lines().saturating_sub(counter.get()));
        }
        let families = self.registry.gather();
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&families, &mut buffer) {
            tracing::error!(%error, "could not encode metrics");
        }
        let mut text = String::from_utf8(buffer).unwrap_or_default();
        let present: BTreeSet<&str> = families.iter().map(|family| family.name()).collect();
        for family in self.families.iter().filter(|f| !present.contains(f.name.as_str())) {
            let (name, help, kind) = (&family.name, escape_help(&family.help), family.kind);
            let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
        }
        for family in &self.by_tenant {
            family.render(&mut text);
        }
        text
    }
}

#[cfg(test)]
mod tests;
