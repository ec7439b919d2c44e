//! What an exchange needs of a tenant, with its secrets opened: the ACS credential and the policy for
//! B. Built once per tenant version, not per request.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use registry::{
    domain::{AcsCredential, AuthorizationPolicy, JwtKey, Tenant},
    sealing::{Keyring, SealContext, SealError, StoredSecret},
    tenants::{ACS_PURPOSE, POLICY_PURPOSE},
};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use url::Url;
use uuid::Uuid;

pub struct TenantRuntime {
    pub credential: acs::Credential,
    pub policy: authz::Policy,
    pub allowed_tenants: Vec<Uuid>,
    pub allowed_apps: Vec<Uuid>,
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

    pub fn get(&self, tenant: &Tenant) -> Result<Arc<TenantRuntime>, SealError> {
        let key = (tenant.id.as_uuid(), tenant.version);
        if let Some(runtime) = self.entries.get(&key) {
            return Ok(runtime);
        }
        let runtime = Arc::new(self.build(tenant)?);
        self.entries.insert(key, runtime.clone());
        Ok(runtime)
    }

    fn open(
        &self,
        tenant: &Tenant,
        secret: &StoredSecret,
        purpose: &str,
    ) -> Result<SecretBox<Vec<u8>>, SealError> {
        self.keyring.open(&secret.sealed, SealContext { tenant: tenant.id.as_uuid(), purpose })
    }

    fn build(&self, tenant: &Tenant) -> Result<TenantRuntime, SealError> {
        let credential = match &tenant.acs.credential {
            AcsCredential::AccessKey(secret) => acs::Credential::AccessKey(acs::AccessKey::from_bytes(
                self.open(tenant, secret, ACS_PURPOSE)?.expose_secret().clone(),
            )),
            AcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
                let secret = self.open(tenant, client_secret, ACS_PURPOSE)?;
                let secret =
                    String::from_utf8(secret.expose_secret().clone()).map_err(|_| SealError::Malformed)?;
                acs::Credential::ClientSecret(acs::ClientSecretCredential {
                    authority_host: self.authority_host.clone(),
                    tenant_id: tenant_id.to_string(),
                    client_id: client_id.to_string(),
                    client_secret: SecretString::from(secret),
                })
            }
        };
        let policy = match &tenant.authorization {
            AuthorizationPolicy::Entra { audience, required_scopes } => {
                authz::Policy::Entra { audience: audience.clone(), required_scopes: required_scopes.clone() }
            }
            AuthorizationPolicy::Jwt { issuer, audience, key, user_claim, required_claims } => {
                authz::Policy::Jwt {
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                    key: match key {
                        JwtKey::JwksUri(uri) => authz::JwtKey::JwksUri(uri.as_url().clone()),
                        JwtKey::Hs256Secret(secret) => authz::JwtKey::Hs256(
                            self.open(tenant, secret, POLICY_PURPOSE)?.expose_secret().clone().into(),
                        ),
                    },
                    user_claim: user_claim.clone(),
                    required_claims: required_claims.clone(),
                }
            }
            AuthorizationPolicy::Webhook { url, secret, timeouts } => authz::Policy::Webhook {
                url: url.as_url().clone(),
                secret: self.open(tenant, secret, POLICY_PURPOSE)?.expose_secret().clone().into(),
                timeout: Duration::from_millis(u64::from(timeouts.timeout_ms)),
                cache_for: Duration::from_secs(u64::from(timeouts.cache_seconds)),
            },
            AuthorizationPolicy::None => authz::Policy::None,
        };
        let allowed_tenants = match tenant.entra.authority() {
            registry::domain::Authority::Tenant(id) => vec![id.as_uuid()],
            registry::domain::Authority::Organizations(ids) => ids.iter().map(|id| id.as_uuid()).collect(),
        };
        let allowed_apps = tenant.entra.allowed_app_ids().iter().map(|id| id.as_uuid()).collect();
        Ok(TenantRuntime { credential, policy, allowed_tenants, allowed_apps })
    }
}
