//! Prometheus metrics. Every metric is described from the first scrape (HELP and TYPE, even before
//! it has a series); labels are bounded (the tenant's slug, an outcome code, an upstream status class)
//! and never name a user, token or request. A deleted tenant's series are removed.

use std::{
    cell::RefCell,
    collections::{BTreeSet, HashMap},
    fmt::Write as _,
};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
    core::{Collector, MetricVec, MetricVecBuilder},
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

const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub struct Metrics {
    registry: Registry,
    /// Every family, so that those without series yet are described too.
    families: Vec<Family>,
    /// How to remove one series of each family labelled by `tenant`, by family name.
    per_tenant: HashMap<String, RemoveSeries>,
    exchange_requests: IntCounterVec,
    exchange_duration: HistogramVec,
    upstream_requests: IntCounterVec,
    upstream_duration: HistogramVec,
    cache_hits: IntCounterVec,
    rate_limited: IntCounterVec,
    token_rejections: IntCounterVec,
    credential_rejected: IntCounterVec,
    key_fetches: IntCounterVec,
    tenant_cache_events: IntCounterVec,
    pub in_flight: IntGauge,
    key_age: IntGaugeVec,
    breaker_state: IntGaugeVec,
    live_replicas: IntGauge,
    registry_unreachable: IntGauge,
}

/// A family as its `# HELP` and `# TYPE` lines describe it.
struct Family {
    name: String,
    help: String,
    kind: &'static str,
}

type RemoveSeries = Box<dyn Fn(&HashMap<&str, &str>) + Send + Sync>;

/// The registry being built, and what [`Metrics`] keeps about each family registered in it.
#[derive(Default)]
struct Catalogue {
    registry: Registry,
    families: RefCell<Vec<Family>>,
    per_tenant: RefCell<HashMap<String, RemoveSeries>>,
}

impl Catalogue {
    fn register<C: Collector + Clone + 'static>(&self, metric: C, kind: &'static str) -> C {
        for desc in metric.desc() {
            let family = Family { name: desc.fq_name.clone(), help: desc.help.clone(), kind };
            self.families.borrow_mut().push(family);
        }
        self.registry.register(Box::new(metric.clone())).unwrap_or_else(|e| panic!("{e}"));
        metric
    }

    fn register_vec<T: MetricVecBuilder + 'static>(
        &self,
        metric: MetricVec<T>,
        kind: &'static str,
        labels: &[&str],
    ) -> MetricVec<T> {
        let metric = self.register(metric, kind);
        if labels.contains(&"tenant") {
            let vec = metric.clone();
            let remove: RemoveSeries = Box::new(move |labels| {
                let _ = vec.remove(labels);
            });
            if let Some(desc) = metric.desc().first() {
                self.per_tenant.borrow_mut().insert(desc.fq_name.clone(), remove);
            }
        }
        metric
    }
}

fn counter(registry: &Catalogue, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register_vec(metric, "counter", labels)
}

fn histogram(registry: &Catalogue, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    let metric = HistogramVec::new(opts, labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register_vec(metric, "histogram", labels)
}

fn gauge_vec(registry: &Catalogue, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register_vec(metric, "gauge", labels)
}

fn gauge(registry: &Catalogue, name: &str, help: &str) -> IntGauge {
    let metric = IntGauge::new(name, help).unwrap_or_else(|e| panic!("{name}: {e}"));
    registry.register(metric, "gauge")
}

/// HELP text as the text format escapes it.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
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
    pub fn new() -> Self {
        let catalogue = Catalogue::default();
        let r = &catalogue;
        let build = gauge_vec(r, "acsgw_build_info", "The running version.", &["version"]);
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Self {
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
                "Exchanges refused by a rate limit of the gateway (the tenant's or one user's), by tenant.",
                &["tenant"],
            ),
            token_rejections: counter(
                r,
                "acsgw_token_rejections_total",
                "Entra tokens (A1) refused, by tenant and reason (the validator's, or acs_invalid_token).",
                &["tenant", "reason"],
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
            registry_unreachable: gauge(
                r,
                "acsgw_registry_unreachable_seconds",
                "Seconds since this replica found Postgres unreachable (0 while it answers); known tenants \
                 are served from memory up to ACSGW_TENANT_STALE_IF_ERROR_SECONDS.",
            ),
            registry: catalogue.registry,
            families: catalogue.families.into_inner(),
            per_tenant: catalogue.per_tenant.into_inner(),
        }
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

    /// One refused A1; `reason` is from a bounded set (entra's rejection reasons).
    pub fn token_rejection(&self, tenant: &str, reason: &str) {
        self.token_rejections.with_label_values(&[tenant, reason]).inc();
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

    /// How long Postgres has been unreachable, read at scrape time.
    pub fn set_registry_down_for(&self, down_for: Option<std::time::Duration>) {
        let seconds = down_for.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1));
        self.registry_unreachable.set(seconds);
    }

    /// Removes every series of these (deleted) tenants, whatever their other labels, in one pass.
    pub fn forget_tenants(&self, tenants: &[&str]) {
        if tenants.is_empty() {
            return;
        }
        for family in self.registry.gather() {
            let Some(remove) = self.per_tenant.get(family.name()) else { continue };
            for metric in family.get_metric() {
                let labels: HashMap<&str, &str> =
                    metric.get_label().iter().map(|pair| (pair.name(), pair.value())).collect();
                if labels.get("tenant").is_some_and(|tenant| tenants.contains(tenant)) {
                    remove(&labels);
                }
            }
        }
    }

    /// The tenants that have series now (not `_unknown`).
    pub fn tenants_with_series(&self) -> BTreeSet<String> {
        let families = self.registry.gather();
        let labels = families.iter().flat_map(|family| family.get_metric()).flat_map(|m| m.get_label());
        labels
            .filter(|pair| pair.name() == "tenant" && pair.value() != UNKNOWN_TENANT)
            .map(|pair| pair.value().to_owned())
            .collect()
    }

    /// The Prometheus text format. Families without series yet (which the encoder leaves out) are
    /// still described, so every metric has its HELP and TYPE from the first scrape.
    pub fn render(&self) -> String {
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
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
