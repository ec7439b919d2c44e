//! The tenant as API clients see it: every setting, no secret (fingerprints in their place).
//! The admin API returns it; audit events diff the same document (`registry::tenants::audit_document`,
//! which the tests below hold to this shape), so neither can leak what it does not hold.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use registry::{
    domain::{AcsCredential, Authority, AuthorityKind, AuthorizationPolicy, JwtKey, Tenant},
    sealing::StoredSecret,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub slug: String,
    pub display_name: String,
    /// `active`, `suspended`, or `pending` (not connected yet: exchanges nothing)
    #[schema(example = "active")]
    pub status: String,
    pub entra: EntraView,
    pub acs: AcsView,
    pub authorization: AuthorizationView,
    pub limits: LimitsView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntraView {
    /// `tenant` or `organizations`
    pub authority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_tenant_ids: Option<Vec<String>>,
    pub allowed_app_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcsView {
    pub endpoint: String,
    /// `accessKey` or `clientSecret`
    pub credential: String,
    /// `sha256:` and the first 8 hex digits of the key's SHA-256
    pub key_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum AuthorizationView {
    Entra {
        audience: String,
        required_scopes: Vec<String>,
    },
    Jwt {
        issuer: String,
        audience: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        jwks_uri: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hs256_secret_fingerprint: Option<String>,
        user_claim: String,
        required_claims: BTreeMap<String, String>,
    },
    Webhook {
        url: String,
        secret_fingerprint: String,
        timeout_ms: u32,
        cache_seconds: u32,
    },
    None,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub exchanges_per_second: u32,
    pub burst: u32,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        let (tenant_id, allowed_tenant_ids) = match t.entra.authority() {
            Authority::Tenant(id) => (Some(id.to_string()), None),
            Authority::Organizations(allowed) => (None, Some(strings(allowed))),
            // A pending tenant's: no tenant yet (`organizations` shows its empty list).
            Authority::NotConnected(AuthorityKind::Tenant) => (None, None),
            Authority::NotConnected(AuthorityKind::Organizations) => (None, Some(Vec::new())),
        };
        let (acs_tenant, acs_client) = match &t.acs.credential {
            AcsCredential::AccessKey(_) => (None, None),
            AcsCredential::ClientSecret { tenant_id, client_id, .. } => {
                (Some(tenant_id.to_string()), Some(client_id.to_string()))
            }
        };
        Self {
            slug: t.slug.to_string(),
            display_name: t.display_name.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            entra: EntraView {
                authority: t.entra.authority().kind().to_owned(),
                tenant_id,
                allowed_tenant_ids,
                allowed_app_ids: strings(t.entra.allowed_app_ids()),
            },
            acs: AcsView {
                endpoint: t.acs.endpoint.to_string(),
                credential: t.acs.credential.kind().to_owned(),
                key_fingerprint: t.acs.credential.fingerprint().to_owned(),
                tenant_id: acs_tenant,
                client_id: acs_client,
            },
            authorization: AuthorizationView::from(&t.authorization),
            limits: LimitsView {
                exchanges_per_second: t.limits.exchanges_per_second(),
                burst: t.limits.burst(),
            },
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}

impl From<&AuthorizationPolicy<StoredSecret>> for AuthorizationView {
    fn from(policy: &AuthorizationPolicy<StoredSecret>) -> Self {
        match policy {
            AuthorizationPolicy::Entra { audience, required_scopes } => {
                Self::Entra { audience: audience.clone(), required_scopes: required_scopes.clone() }
            }
            AuthorizationPolicy::Jwt { issuer, audience, key, user_claim, required_claims } => {
                let (jwks_uri, hs256_secret_fingerprint) = match key {
                    JwtKey::JwksUri(uri) => (Some(uri.to_string()), None),
                    JwtKey::Hs256Secret(secret) => (None, Some(secret.fingerprint.clone())),
                };
                Self::Jwt {
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                    jwks_uri,
                    hs256_secret_fingerprint,
                    user_claim: user_claim.clone(),
                    required_claims: required_claims.clone(),
                }
            }
            AuthorizationPolicy::Webhook { url, secret, timeouts } => Self::Webhook {
                url: url.to_string(),
                secret_fingerprint: secret.fingerprint.clone(),
                timeout_ms: timeouts.timeout_ms,
                cache_seconds: timeouts.cache_seconds,
            },
            AuthorizationPolicy::None => Self::None,
        }
    }
}

fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
