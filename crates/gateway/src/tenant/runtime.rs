//! What an exchange needs of a tenant, with its secrets opened by the registry: the Entra authority
//! and apps for A1, the policy for B, the ACS target and the limits. Built once per tenant version,
//! not per request; the one place where the registry's domain is mapped to the crates' types.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use registry::{
    domain::{AcsEndpoint, Authority, AuthorizationPolicy, JwtKey, Limits, Tenant, TenantSlug},
    sealing::{Keyring, SealError},
    tenants::{OpenedAcsCredential, OpenedSecret},
};
use secrecy::ExposeSecret;
use url::Url;
use uuid::Uuid;

/// Which Entra tenants may sign A1, owned so that a request can borrow it as [`entra::Authority`].
enum AllowedTenants {
    One(Uuid),
    Organizations(Vec<Uuid>),
}

/// One version of a tenant, ready for exchanges.
pub struct TenantRuntime {
    tenant: Arc<Tenant>,
    allowed_tenants: AllowedTenants,
    allowed_apps: Vec<Uuid>,
    credential: acs::Credential,
    policy: authz::Policy,
}

impl TenantRuntime {
    pub fn slug(&self) -> &TenantSlug {
        &self.tenant.slug
    }

    pub fn id(&self) -> Uuid {
        self.tenant.id.as_uuid()
    }

    /// The Entra authority A1 must come from.
    pub fn authority(&self) -> entra::Authority<'_> {
        match &self.allowed_tenants {
            AllowedTenants::One(id) => entra::Authority::Tenant(*id),
            AllowedTenants::Organizations(ids) => entra::Authority::Organizations(ids),
        }
    }

    /// The client apps (A3) allowed to exchange.
    pub fn allowed_apps(&self) -> &[Uuid] {
        &self.allowed_apps
    }

    /// How this tenant checks B.
    pub fn policy(&self) -> &authz::Policy {
        &self.policy
    }

    pub fn acs_endpoint(&self) -> &AcsEndpoint {
        &self.tenant.acs.endpoint
    }

    /// Where and how to call the tenant's ACS resource.
    pub fn acs_target(&self) -> acs::AcsTarget<'_> {
        acs::AcsTarget {
            tenant: self.tenant.slug.as_str(),
            endpoint: self.tenant.acs.endpoint.as_str(),
            credential: &self.credential,
        }
    }

    /// The tenant's exchange limits, which the limiter shares among the live replicas.
    pub fn limits(&self) -> Limits {
        self.tenant.limits
    }
}

pub struct RuntimeCache {
    keyring: Arc<Keyring>,
    authority_host: Url,
    entries: Cache<(Uuid, i64), Arc<TenantRuntime>>,
}

impl RuntimeCache {
    pub fn new(keyring: Arc<Keyring>, authority_host: Url) -> Self {
        let entries = Cache::builder().max_capacity(10_000).time_to_live(Duration::from_secs(600)).build();
        Self { keyring, authority_host, entries }
    }

    pub fn get(&self, tenant: Arc<Tenant>) -> Result<Arc<TenantRuntime>, SealError> {
        let key = (tenant.id.as_uuid(), tenant.version);
        if let Some(runtime) = self.entries.get(&key) {
            return Ok(runtime);
        }
        let runtime = Arc::new(self.build(tenant)?);
        self.entries.insert(key, runtime.clone());
        Ok(runtime)
    }

    fn build(&self, tenant: Arc<Tenant>) -> Result<TenantRuntime, SealError> {
        let opened = tenant.open(&self.keyring)?;
        let credential = match opened.credential {
            OpenedAcsCredential::AccessKey(key) => {
                acs::Credential::AccessKey(acs::AccessKey::from_bytes(key.expose_secret().clone()))
            }
            OpenedAcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
                acs::Credential::ClientSecret(acs::ClientSecretCredential {
                    authority_host: self.authority_host.clone(),
                    tenant_id: tenant_id.to_string(),
                    client_id: client_id.to_string(),
                    client_secret,
                })
            }
        };
        let allowed_tenants = match tenant.entra.authority() {
            Authority::Tenant(id) => AllowedTenants::One(id.as_uuid()),
            Authority::Organizations(ids) => {
                AllowedTenants::Organizations(ids.iter().map(|id| id.as_uuid()).collect())
            }
        };
        let allowed_apps = tenant.entra.allowed_app_ids().iter().map(|id| id.as_uuid()).collect();
        Ok(TenantRuntime {
            allowed_tenants,
            allowed_apps,
            credential,
            policy: policy(opened.authorization),
            tenant,
        })
    }
}

/// The policy for B as `authz` checks it.
fn policy(policy: AuthorizationPolicy<OpenedSecret>) -> authz::Policy {
    let bytes = |secret: OpenedSecret| secret.expose_secret().clone().into();
    match policy {
        AuthorizationPolicy::Entra { audience, required_scopes } => {
            authz::Policy::Entra { audience, required_scopes }
        }
        AuthorizationPolicy::Jwt { issuer, audience, key, user_claim, required_claims } => {
            authz::Policy::Jwt {
                issuer,
                audience,
                key: match key {
                    JwtKey::JwksUri(uri) => authz::JwtKey::JwksUri(uri.as_url().clone()),
                    JwtKey::Hs256Secret(secret) => authz::JwtKey::Hs256(bytes(secret)),
                },
                user_claim,
                required_claims,
            }
        }
        AuthorizationPolicy::Webhook { url, secret, timeouts } => authz::Policy::Webhook {
            url: url.as_url().clone(),
            secret: bytes(secret),
            timeout: Duration::from_millis(u64::from(timeouts.timeout_ms)),
            cache_for: Duration::from_secs(u64::from(timeouts.cache_seconds)),
        },
        AuthorizationPolicy::None => authz::Policy::None,
    }
}
