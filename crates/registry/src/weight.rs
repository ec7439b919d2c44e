//! What a tenant record weighs in the caches, on `jose::weight`'s rules (re-exported here for the
//! gateway's caches).

use std::mem::size_of;

pub use jose::weight::{ENTRY_OVERHEAD, alloc, items, mebibytes, string_map, text, to_weight};

use crate::{
    domain::{AcsCredential, Authority, AuthorizationPolicy, EntraSettings, JwtKey, ServiceUrl, Tenant},
    sealing::StoredSecret,
};

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
        Authority::Tenant(_) | Authority::NotConnected(_) => 0,
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
}
