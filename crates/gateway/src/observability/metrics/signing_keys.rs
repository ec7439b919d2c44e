//! The signing-key series, labelled by where keys come from, never by a tenant's own authority: with
//! one authority per tenant, per-authority series would grow with the registry.

use std::{collections::BTreeMap, time::Duration};

/// The `authority` label values: the validator's key sources (`entra::observe::KeySource`: the
/// shared multi-tenant document and keys, or a tenant's own, per token version) and Entra's other
/// multi-tenant authorities.
const KINDS: &[&str] =
    &["organizations", "organizations/v2.0", "tenant", "tenant/v2.0", "common", "consumers"];

/// The `authority` label of what the validator reports: a known kind as it is, a tenant's own
/// authority (its GUID) as `tenant`, anything else as `other`, so that the label stays bounded
/// whatever the registry holds.
pub fn authority_kind(authority: &str) -> &'static str {
    if let Some(kind) = KINDS.iter().find(|kind| **kind == authority) {
        return kind;
    }
    if uuid::Uuid::parse_str(authority).is_ok() { "tenant" } else { "other" }
}

/// The validator's `(authority, kid, age)` of every key in use, by authority kind and kid. Where
/// several authorities fold into one kind, a key's age is its oldest: an authority that cannot
/// refresh its keys still shows.
pub fn key_ages(ages: &[(String, String, Duration)]) -> BTreeMap<(&'static str, &str), Duration> {
    let mut by_kind = BTreeMap::new();
    for (authority, kid, age) in ages {
        let oldest = by_kind.entry((authority_kind(authority), kid.as_str())).or_insert(*age);
        *oldest = (*oldest).max(*age);
    }
    by_kind
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(authority: &str, kid: &str, hours: u64) -> (String, String, Duration) {
        (authority.to_owned(), kid.to_owned(), Duration::from_secs(hours * 3600))
    }

    #[test]
    fn key_sources_keep_their_names_and_anything_else_folds_into_a_bounded_kind() {
        for kind in KINDS {
            assert_eq!(authority_kind(kind), *kind);
        }
        assert_eq!(authority_kind("72f988bf-86f1-41af-91ab-2d7cd011db47"), "tenant");
        assert_eq!(authority_kind("contoso.onmicrosoft.com"), "other");
    }

    #[test]
    fn many_tenant_authorities_with_the_same_keys_give_one_series_per_key() {
        let ages: Vec<_> = (0..100)
            .map(|n| format!("0a0b0c0d-0000-4000-8000-{n:012}"))
            .flat_map(|authority| [age(&authority, "a", 1), age(&authority, "b", 1)])
            .collect();
        let keys: Vec<_> = key_ages(&ages).into_keys().collect();
        assert_eq!(keys, [("tenant", "a"), ("tenant", "b")]);
    }

    #[test]
    fn a_key_folded_from_several_authorities_shows_its_oldest_age() {
        let first = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let second = "0a0b0c0d-0000-4000-8000-000000000002";
        let reported = [age(first, "a", 1), age(second, "a", 21), age("organizations", "a", 2)];
        let ages = key_ages(&reported);
        assert_eq!(ages[&("tenant", "a")], Duration::from_secs(21 * 3600));
        assert_eq!(ages[&("organizations", "a")], Duration::from_secs(2 * 3600));
    }
}
