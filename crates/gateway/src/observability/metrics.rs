//! Prometheus metrics. Every metric is described when the registry is built; labels are bounded (the
//! tenant's slug, an outcome code, an upstream status class) and never name a user, token or request.
//! A deleted tenant's series are removed.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::ExchangeRecord;

/// Every `outcome` an exchange can have: `ok` and the error codes of the API.
pub const OUTCOMES: &[&str] = &[
    "ok",
    "invalid_request",
    "invalid_token",
    "invalid_authorization",
    "insufficient_scope",
    "user_mismatch",
    "app_not_allowed",
    "tenant_not_allowed",
    "tenant_suspended",
    "tenant_not_found",
    "rate_limited",
    "upstream_error",
    "upstream_unavailable",
    "upstream_timeout",
    "internal",
];

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

const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub struct Metrics {
    registry: Registry,
    exchange_requests: IntCounterVec,
    exchange_duration: HistogramVec,
    upstream_requests: IntCounterVec,
    upstream_duration: HistogramVec,
    cache_hits: IntCounterVec,
    rate_limited: IntCounterVec,
    credential_rejected: IntCounterVec,
    key_fetches: IntCounterVec,
    tenant_cache_events: IntCounterVec,
    pub in_flight: IntGauge,
    key_age: IntGaugeVec,
    breaker_state: IntGaugeVec,
    live_replicas: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register(Box::new(metric.clone())).unwrap_or_else(|e| panic!("{name}: {e}"));
    metric
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let metric = HistogramVec::new(opts, labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register(Box::new(metric.clone())).unwrap_or_else(|e| panic!("{name}: {e}"));
    metric
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register(Box::new(metric.clone())).unwrap_or_else(|e| panic!("{name}: {e}"));
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register(Box::new(metric.clone())).unwrap_or_else(|e| panic!("{name}: {e}"));
    metric
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

impl Metrics {
    /// Builds and describes every metric. Names and help texts are fixed: a clash is a bug.
    #[expect(
        clippy::expect_used,
        reason = "metric definitions are constants; a clash is caught by every test"
    )]
    pub fn new() -> Self {
        let registry = Registry::new();
        let r = &registry;
        let metrics = Self {
            exchange_requests: counter(
                r,
                "acsgw_exchange_requests_total",
                "Exchanges answered, by tenant and outcome (ok or the error code).",
                &["tenant", "outcome"],
            ),
            exchange_duration: histogram(
                r,
                "acsgw_exchange_duration_seconds",
                "Time to answer an exchange, by tenant.",
                &["tenant"],
            ),
            upstream_requests: counter(
                r,
                "acsgw_upstream_requests_total",
                "Calls to the tenant's ACS resource (each attempt), by tenant and status.",
                &["tenant", "status"],
            ),
            upstream_duration: histogram(
                r,
                "acsgw_upstream_duration_seconds",
                "Duration of each call to ACS, by tenant.",
                &["tenant"],
            ),
            cache_hits: counter(
                r,
                "acsgw_exchange_cache_hits_total",
                "Exchanges answered from the result cache, by tenant.",
                &["tenant"],
            ),
            rate_limited: counter(
                r,
                "acsgw_rate_limited_total",
                "Exchanges refused by the tenant's own rate limit, by tenant.",
                &["tenant"],
            ),
            credential_rejected: counter(
                r,
                "acsgw_acs_credential_rejected_total",
                "Times ACS or Entra refused the gateway's own credential for a tenant.",
                &["tenant"],
            ),
            key_fetches: counter(
                r,
                "acsgw_signing_key_fetches_total",
                "Fetches of Entra metadata and signing keys, by authority and result.",
                &["authority", "result"],
            ),
            tenant_cache_events: counter(
                r,
                "acsgw_tenant_cache_events_total",
                "Tenant cache events (hit, miss, invalidated, cleared, listener_lost).",
                &["event"],
            ),
            in_flight: gauge(r, "acsgw_http_requests_in_flight", "HTTP requests being served."),
            key_age: gauge_vec(
                r,
                "acsgw_signing_key_age_seconds",
                "Seconds since each Entra signing key in use was last seen in its key set.",
                &["authority", "kid"],
            ),
            breaker_state: gauge_vec(
                r,
                "acsgw_acs_circuit_breaker_state",
                "ACS circuit breaker per tenant with recent failures: 0 closed, 1 half-open, 2 open.",
                &["tenant"],
            ),
            live_replicas: gauge(
                r,
                "acsgw_live_replicas",
                "Gateway replicas this one counts (each enforces 1/N of every tenant limit).",
            ),
            registry,
        };
        let build = IntGaugeVec::new(Opts::new("acsgw_build_info", "The running version."), &["version"])
            .expect("build info");
        metrics.registry.register(Box::new(build.clone())).expect("build info");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        metrics
    }

    pub fn exchange(&self, record: &ExchangeRecord<'_>) {
        self.exchange_requests.with_label_values(&[record.tenant, record.outcome]).inc();
        self.exchange_duration.with_label_values(&[record.tenant]).observe(record.duration.as_secs_f64());
        if record.cache_hit {
            self.cache_hits.with_label_values(&[record.tenant]).inc();
        }
    }

    pub fn rate_limited(&self, tenant: &str) {
        self.rate_limited.with_label_values(&[tenant]).inc();
    }

    pub fn credential_rejected(&self, tenant: &str) {
        self.credential_rejected.with_label_values(&[tenant]).inc();
    }

    pub fn upstream(&self, tenant: &str, status: &str, seconds: f64) {
        self.upstream_requests.with_label_values(&[tenant, status]).inc();
        self.upstream_duration.with_label_values(&[tenant]).observe(seconds);
    }

    pub fn key_fetch(&self, authority: &str, ok: bool) {
        self.key_fetches.with_label_values(&[authority, if ok { "ok" } else { "error" }]).inc();
    }

    pub fn tenant_cache_event(&self, event: &str) {
        self.tenant_cache_events.with_label_values(&[event]).inc();
    }

    /// Gauges computed at scrape time, replacing the previous values.
    pub fn set_live(
        &self,
        replicas: u32,
        key_ages: &[(String, String, std::time::Duration)],
        breakers: &[(String, i64)],
    ) {
        self.live_replicas.set(i64::from(replicas));
        self.key_age.reset();
        for (authority, kid, age) in key_ages {
            self.key_age
                .with_label_values(&[authority.as_str(), kid.as_str()])
                .set(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
        }
        self.breaker_state.reset();
        for (tenant, state) in breakers {
            self.breaker_state.with_label_values(&[tenant.as_str()]).set(*state);
        }
    }

    /// Removes every series of a deleted tenant.
    pub fn forget_tenant(&self, tenant: &str) {
        for outcome in OUTCOMES {
            let _ = self.exchange_requests.remove_label_values(&[tenant, outcome]);
        }
        for status in STATUSES {
            let _ = self.upstream_requests.remove_label_values(&[tenant, status]);
        }
        for vec in [&self.cache_hits, &self.rate_limited, &self.credential_rejected] {
            let _ = vec.remove_label_values(&[tenant]);
        }
        let _ = self.exchange_duration.remove_label_values(&[tenant]);
        let _ = self.upstream_duration.remove_label_values(&[tenant]);
        let _ = self.breaker_state.remove_label_values(&[tenant]);
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "could not encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
