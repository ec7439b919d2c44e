//! How metric families are built and described: those of all tenants together in a `prometheus`
//! registry, those labelled by `tenant` as [`ByTenant`] families.

use std::{cell::RefCell, sync::Arc};

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    core::Collector,
};

use super::by_tenant::ByTenant;

/// Buckets of the latency histograms (seconds).
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A registry family as its `# HELP` and `# TYPE` lines describe it.
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: &'static str,
}

/// The registry being built, and what [`super::Metrics`] keeps about each family.
#[derive(Default)]
pub struct Catalogue {
    pub registry: Registry,
    pub families: RefCell<Vec<Family>>,
    pub by_tenant: RefCell<Vec<Arc<ByTenant>>>,
}

impl Catalogue {
    fn register<C: Collector + Clone + 'static>(&self, metric: C, kind: &'static str) -> C {
        for desc in metric.desc() {
            assert!(!desc.variable_labels.iter().any(|l| l == "tenant"), "{}: use a ByTenant", desc.fq_name);
            let family = Family { name: desc.fq_name.clone(), help: desc.help.clone(), kind };
            self.families.borrow_mut().push(family);
        }
        self.registry.register(Box::new(metric.clone())).unwrap_or_else(|e| panic!("{e}"));
        metric
    }

    fn by_tenant(&self, family: ByTenant) -> Arc<ByTenant> {
        let family = Arc::new(family);
        self.by_tenant.borrow_mut().push(family.clone());
        family
    }

    pub fn counter(&self, name: &str, help: &str) -> IntCounter {
        let metric = IntCounter::new(name, help).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.register(metric, "counter")
    }

    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let metric =
            IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.register(metric, "counter")
    }

    /// A counter labelled by `tenant` and, when given, one more label.
    pub fn tenant_counter(&self, name: &str, help: &str, other: Option<&'static str>) -> Arc<ByTenant> {
        self.by_tenant(ByTenant::new(name, help, "counter", other))
    }

    pub fn tenant_gauge(&self, name: &str, help: &str) -> Arc<ByTenant> {
        self.by_tenant(ByTenant::new(name, help, "gauge", None))
    }

    pub fn histogram(&self, name: &str, help: &str) -> Histogram {
        let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
        let metric = Histogram::with_opts(opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.register(metric, "histogram")
    }

    pub fn histogram_vec(&self, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
        let metric = HistogramVec::new(opts, labels).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.register(metric, "histogram")
    }

    pub fn gauge(&self, name: &str, help: &str) -> IntGauge {
        let metric = IntGauge::new(name, help).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.register(metric, "gauge")
    }

    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let metric =
            IntGaugeVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
        self.register(metric, "gauge")
    }
}

/// HELP text as the text format escapes it.
pub fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}
