//! The families labelled by `tenant`, kept by tenant: a deleted tenant's series go with one map
//! removal (no other tenant's series is read), and a scrape writes them straight into the text
//! format, without the protobuf copy and sort of every series that the `prometheus` registry makes
//! (about a second at 200 000 series).

use std::{
    collections::{BTreeSet, HashMap},
    fmt::Write as _,
    sync::{
        PoisonError, RwLock,
        atomic::{AtomicI64, Ordering},
    },
};

/// One tenant's series of a family, by the other label's value (`""` when there is none): a few.
type Series = Vec<(Box<str>, AtomicI64)>;

/// One family: `tenant` and at most one other label (an outcome, status or reason: bounded).
pub struct ByTenant {
    name: String,
    help: String,
    kind: &'static str,
    other: Option<&'static str>,
    series: RwLock<HashMap<Box<str>, Series>>,
}

impl ByTenant {
    pub fn new(name: &str, help: &str, kind: &'static str, other: Option<&'static str>) -> Self {
        let (name, help) = (name.to_owned(), help.to_owned());
        Self { name, help, kind, other, series: RwLock::default() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds one to the tenant's series of a family labelled by `tenant` alone.
    pub fn inc(&self, tenant: &str) {
        self.update(tenant, "", |current| {
            current.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Adds one to the tenant's series with `value` for the other label.
    pub fn inc_with(&self, tenant: &str, value: &str) {
        self.update(tenant, value, |current| {
            current.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Sets a gauge labelled by `tenant` alone.
    pub fn set(&self, tenant: &str, to: i64) {
        self.update(tenant, "", |current| current.store(to, Ordering::Relaxed));
    }

    /// Applies `change` to the series, creating it at 0 first if needed. Only a new series takes the
    /// write lock.
    fn update(&self, tenant: &str, value: &str, change: impl Fn(&AtomicI64)) {
        {
            let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, current)) =
                series.get(tenant).and_then(|of| of.iter().find(|(v, _)| &**v == value))
            {
                change(current);
                return;
            }
        }
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        let of_tenant = series.entry(tenant.into()).or_default();
        match of_tenant.iter().find(|(v, _)| &**v == value) {
            Some((_, current)) => change(current),
            None => {
                let current = AtomicI64::new(0);
                change(&current);
                of_tenant.push((value.into(), current));
            }
        }
    }

    /// Drops every series (gauges recomputed at each scrape).
    pub fn reset(&self) {
        self.series.write().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Removes the tenant's series.
    pub fn forget(&self, tenant: &str) {
        self.series.write().unwrap_or_else(PoisonError::into_inner).remove(tenant);
    }

    /// Adds every tenant with a series to `tenants`.
    pub fn tenants(&self, tenants: &mut BTreeSet<String>) {
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        tenants.extend(series.keys().map(|tenant| tenant.to_string()));
    }

    /// Writes the family in the text format: HELP and TYPE, then each series with its labels in
    /// name order, as the registry's encoder writes them.
    pub fn render(&self, text: &mut String) {
        let (name, help, kind) = (&self.name, super::families::escape_help(&self.help), self.kind);
        let _ = write!(text, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        for (tenant, of_tenant) in series.iter() {
            let tenant = escape_value(tenant);
            for (value, current) in of_tenant {
                let current = current.load(Ordering::Relaxed);
                let _ = match self.other {
                    None => writeln!(text, "{name}{{tenant=\"{tenant}\"}} {current}"),
                    Some(other) if other < "tenant" => {
                        writeln!(
                            text,
                            "{name}{{{other}=\"{}\",tenant=\"{tenant}\"}} {current}",
                            escape_value(value)
                        )
                    }
                    Some(other) => {
                        writeln!(
                            text,
                            "{name}{{tenant=\"{tenant}\",{other}=\"{}\"}} {current}",
                            escape_value(value)
                        )
                    }
                };
            }
        }
    }
}

/// A label value as the text format escapes it.
fn escape_value(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains(['\\', '"', '\n']) {
        value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n").into()
    } else {
        value.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_written_in_name_order_and_values_escaped() {
        let before = ByTenant::new("a_total", "A.", "counter", Some("outcome"));
        before.inc_with("contoso", "ok");
        before.inc_with("contoso", "ok");
        let after = ByTenant::new("b_total", "B.", "counter", Some("zone"));
        after.inc_with("we\"ird", "a\\b");
        let mut text = String::new();
        before.render(&mut text);
        after.render(&mut text);
        assert_eq!(
            text,
            "# HELP a_total A.\n# TYPE a_total counter\n\
             a_total{outcome=\"ok\",tenant=\"contoso\"} 2\n\
             # HELP b_total B.\n# TYPE b_total counter\n\
             b_total{tenant=\"we\\\"ird\",zone=\"a\\\\b\"} 1\n"
        );
    }

    #[test]
    fn a_gauge_keeps_the_last_value_set_and_a_reset_drops_every_series() {
        let gauge = ByTenant::new("g", "G.", "gauge", None);
        gauge.set("contoso", 2);
        gauge.set("contoso", 1);
        let mut text = String::new();
        gauge.render(&mut text);
        assert!(text.ends_with("g{tenant=\"contoso\"} 1\n"), "{text}");
        gauge.reset();
        let mut tenants = BTreeSet::new();
        gauge.tenants(&mut tenants);
        assert!(tenants.is_empty());
    }
}
