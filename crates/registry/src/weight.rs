//! What a cached value costs in memory, in bytes, for moka's weighers: the gateway's caches are
//! bounded by the memory they take (settings in MB), not by how many entries they hold, so 100 000
//! small tenants and 1 000 large ones fit the same budget. An estimate counts a value's inline size,
//! each heap allocation it owns (with the allocator's rounding), and what moka keeps per entry. It is
//! an estimate, never a measurement: shared `Arc`s are counted by the one cache that owns them.

use std::mem::size_of;

use crate::{
    domain::{AcsCredential, Authority, AuthorizationPolicy, EntraSettings, JwtKey, ServiceUrl, Tenant},
    sealing::StoredSecret,
};

/// What moka 0.12 keeps per entry besides the key and the value: the hash-table slot, the access
/// and write-order nodes, the timer node and the entry's own `Arc`. Measured as the growth of the
/// resident set per entry with 200 000 entries of 40 bytes (about 340 bytes each, with a weigher and
/// an expiry).
pub const ENTRY_OVERHEAD: usize = 320;

/// The heap cost of one allocation of `len` bytes: glibc's malloc adds an 8-byte header, rounds to
/// 16 and hands out 32 bytes at least. Nothing is allocated for nothing.
pub const fn alloc(len: usize) -> usize {
    match len {
        0 => 0,
        _ => {
            let rounded = (len + 8).next_multiple_of(16);
            if rounded < 32 { 32 } else { rounded }
        }
    }
}

/// The heap a `String` (or `Box<str>`, `Vec<u8>`) of this text holds.
pub fn text(value: &str) -> usize {
    alloc(value.len())
}

/// The heap a `Vec<T>` of `len` items holds, at its exact capacity.
pub fn items<T>(len: usize) -> usize {
    alloc(len * size_of::<T>())
}

/// The heap of a `BTreeMap<String, String>`: nodes of eleven slots (counted half full on average),
/// and each key's and value's text.
pub fn string_map<'a>(entries: impl ExactSizeIterator<Item = (&'a String, &'a String)>) -> usize {
    let nodes = entries.len().div_ceil(6);
    let node = alloc(11 * 2 * size_of::<String>() + 16);
    nodes * node + entries.map(|(key, value)| text(key) + text(value)).sum::<usize>()
}

/// A moka weight: bytes, saturating (one entry never weighs 4 GiB; if it did, it would not fit).
pub fn to_weight(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// A budget in MiB as moka's `max_capacity` in bytes.
pub fn mebibytes(mb: u64) -> u64 {
    mb.saturating_mul(1024 * 1024)
}

/// The bytes of one tenant record behind its `Arc`: the record, its texts, lists and sealed secrets.
pub fn tenant(tenant: &Tenant) -> usize {
    2 * size_of::<usize>()
        + size_of::<Tenant>()
        + text(tenant.slug.as_str())
        + text(tenant.display_name.as_str())
        + entra(&tenant.entra)
        + text(tenant.acs.endpoint.as_str())
        + match &tenant.acs.credential {
            AcsCredential::AccessKey(secret) => stored(secret),
            AcsCredential::ClientSecret { client_secret, .. } => stored(client_secret),
        }
        + policy(&tenant.authorization, stored)
}

fn entra(entra: &EntraSettings) -> usize {
    let tenants = match entra.authority() {
        Authority::Tenant(_) => 0,
        Authority::Organizations(ids) => items::<uuid::Uuid>(ids.len()),
    };
    tenants + items::<uuid::Uuid>(entra.allowed_app_ids().len())
}

fn stored(secret: &StoredSecret) -> usize {
    let sealed = &secret.sealed;
    text(&secret.fingerprint) + text(&sealed.key_id) + text(&sealed.nonce) + text(&sealed.ciphertext)
}

/// The heap of a policy for B, its secrets (sealed or opened) weighed by `secret`.
pub fn policy<S>(policy: &AuthorizationPolicy<S>, secret: impl Fn(&S) -> usize) -> usize {
    match policy {
        AuthorizationPolicy::Entra { audience, required_scopes } => {
            text(audience)
                + items::<String>(required_scopes.len())
                + required_scopes.iter().map(|scope| text(scope)).sum::<usize>()
        }
        AuthorizationPolicy::Jwt { issuer, audience, key, user_claim, required_claims } => {
            let key = match key {
                JwtKey::JwksUri(uri) => url(uri),
                JwtKey::Hs256Secret(value) => secret(value),
            };
            text(issuer) + text(audience) + key + text(user_claim) + string_map(required_claims.iter())
        }
        AuthorizationPolicy::Webhook { url: to, secret: value, .. } => url(to) + secret(value),
        AuthorizationPolicy::None => 0,
    }
}

/// A parsed URL keeps its whole serialization in one `String` (the offsets are inline).
fn url(url: &ServiceUrl) -> usize {
    text(url.as_str())
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{
        domain::{
            AcsConnection, AcsEndpoint, AppId, DisplayName, EntraTenantId, Limits, TenantId, TenantSlug,
            TenantStatus, Transport,
        },
        sealing::{Keyring, SealContext},
    };

    const KEYRING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    /// A tenant as the quick start makes it: one Entra tenant, one app, an ACS access key, no B.
    pub(crate) fn typical_tenant(apps: usize) -> Tenant {
        let keyring = Keyring::parse(KEYRING).unwrap();
        let id = uuid::Uuid::now_v7();
        let key = keyring
            .seal_secret(&[7; 32], SealContext { tenant: id, purpose: crate::tenants::ACS_PURPOSE })
            .unwrap();
        let app_ids = (0..apps).map(|n| AppId::parse(&uuid::Uuid::from_u128(n as u128 + 1).to_string()));
        let entra_tenant = EntraTenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        Tenant {
            id: TenantId::from_uuid(id),
            slug: TenantSlug::parse("fabrikam-0042").unwrap(),
            display_name: DisplayName::parse("Fabrikam Inc.").unwrap(),
            status: TenantStatus::Active,
            entra: EntraSettings::new(Authority::Tenant(entra_tenant), app_ids.map(Result::unwrap).collect())
                .unwrap(),
            acs: AcsConnection {
                endpoint: AcsEndpoint::parse(
                    "https://fabrikam.communication.azure.com/",
                    Transport::HttpsOnly,
                )
                .unwrap(),
                credential: AcsCredential::AccessKey(key),
            },
            authorization: AuthorizationPolicy::None,
            limits: Limits::new(10, 20).unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    #[test]
    fn a_typical_tenant_weighs_its_record_and_a_few_hundred_bytes_of_texts() {
        let weight = tenant(&typical_tenant(1));
        let record = size_of::<Tenant>();
        assert!((record + 300..record + 600).contains(&weight), "{weight} bytes, record {record}");
    }

    #[test]
    fn a_tenant_weighs_more_with_each_allowed_app() {
        let (one, thousand) = (tenant(&typical_tenant(1)), tenant(&typical_tenant(1000)));
        assert_eq!(thousand - one, items::<uuid::Uuid>(1000) - items::<uuid::Uuid>(1));
    }

    #[test]
    fn a_policy_weighs_its_texts_and_its_secret() {
        let claims: std::collections::BTreeMap<String, String> =
            [("plan".to_owned(), "premium".to_owned())].into();
        let expected = 48 + 32 + 40 + string_map(claims.iter());
        let jwt = AuthorizationPolicy::Jwt {
            issuer: "https://auth.contoso.example".to_owned(),
            audience: "contoso-calling".to_owned(),
            key: JwtKey::Hs256Secret(40_usize),
            user_claim: String::new(),
            required_claims: claims,
        };
        assert_eq!(policy(&jwt, |secret| *secret), expected);
        assert_eq!(policy(&AuthorizationPolicy::<usize>::None, |secret| *secret), 0);
    }

    #[test]
    fn an_allocation_is_rounded_to_sixteen_bytes_with_a_header_and_never_below_thirty_two() {
        assert_eq!(alloc(0), 0);
        assert_eq!(alloc(1), 32);
        assert_eq!(alloc(24), 32);
        assert_eq!(alloc(25), 48);
        assert_eq!(alloc(1000), 1008);
    }

    #[test]
    fn a_weight_saturates_rather_than_wrapping() {
        assert_eq!(to_weight(7), 7);
        assert_eq!(to_weight(usize::MAX), u32::MAX);
    }

    #[test]
    fn a_map_costs_its_nodes_and_its_texts() {
        let empty = std::collections::BTreeMap::<String, String>::new();
        assert_eq!(string_map(empty.iter()), 0);
        let one: std::collections::BTreeMap<String, String> = [("plan".into(), "premium".into())].into();
        assert_eq!(string_map(one.iter()), alloc(11 * 48 + 16) + 32 + 32);
    }
}
