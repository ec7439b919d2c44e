//! What an exchange needs of a tenant, with its secrets opened by the registry: the Entra authority
//! and apps for A1, the policy for B, the ACS target and the limits. Built once per tenant version,
//! not per request; the one place where the registry's domain is mapped to the crates' types.
//!
//! One runtime per tenant is kept (a new version replaces the old), bounded by the memory the runtimes
//! take (about 0.8 KiB each, besides the tenant record they share with the registry's cache).

use std::{mem::size_of, sync::Arc, time::Duration};

use moka::sync::Cache;
use registry::{
    domain::{AcsEndpoint, Authority, AuthorizationPolicy, JwtKey, Limits, Tenant, TenantSlug},
    sealing::{Keyring, SealError},
    tenants::{OpenedAcsCredential, OpenedSecret, OpenedTenant},
    weight,
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
    /// What its lists and opened secrets take on the heap (the tenant record is the registry cache's).
    heap_bytes: usize,
}

impl TenantRuntime {
    pub fn slug(&self) -> &TenantSlug {
        &self.tenant.slug
    }

    pub fn id(&self) -> Uuid {
        self.tenant.id.as_uuid()
    }

    /// The tenant's version this runtime was built from.
    pub fn version(&self) -> i64 {
        self.tenant.version
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

/// What one runtime costs: moka's bookkeeping, the key, the runtime behind its `Arc` and its heap.
fn weigh(_id: &Uuid, runtime: &Arc<TenantRuntime>) -> u32 {
    let inline = 2 * size_of::<usize>() + size_of::<TenantRuntime>();
    weight::to_weight(weight::ENTRY_OVERHEAD + size_of::<Uuid>() + inline + runtime.heap_bytes)
}

/// The heap of a runtime built from `tenant` and its `opened` secrets: the copied lists of ids, the
/// ACS credential and the policy for B.
fn heap_bytes(tenant: &Tenant, opened: &OpenedTenant, authority_host: &Url) -> usize {
    let tenants = match tenant.entra.authority() {
        Authority::Tenant(_) | Authority::NotConnected(_) => 0,
        Authority::Organizations(ids) => weight::items::<Uuid>(ids.len()),
    };
    let apps = weight::items::<Uuid>(tenant.entra.allowed_app_ids().len());
    let credential = match &opened.credential {
        OpenedAcsCredential::AccessKey(key) => weight::alloc(key.expose_secret().len()),
        OpenedAcsCredential::ClientSecret { client_secret, .. } => {
            // The authority host, the tenant and client ids as text, and the secret.
            weight::text(authority_host.as_str())
                + 2 * weight::alloc(36)
                + weight::text(client_secret.expose_secret())
        }
    };
    let secret = |secret: &OpenedSecret| weight::alloc(secret.expose_secret().len());
    tenants + apps + credential + weight::policy(&opened.authorization, secret)
}

pub struct RuntimeCache {
    keyring: Arc<Keyring>,
    authority_host: Url,
    /// By tenant id: the runtime of the version last asked for.
    entries: Cache<Uuid, Arc<TenantRuntime>>,
}

impl RuntimeCache {
    /// Runtimes taking at most `max_bytes`; the least used go first.
    pub fn new(keyring: Arc<Keyring>, authority_host: Url, max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weigh)
            .time_to_live(Duration::from_secs(600))
            .build();
        Self { keyring, authority_host, entries }
    }

    pub fn get(&self, tenant: Arc<Tenant>) -> Result<Arc<TenantRuntime>, SealError> {
        let id = tenant.id.as_uuid();
        if let Some(runtime) = self.entries.get(&id)
            && runtime.tenant.version == tenant.version
        {
            return Ok(runtime);
        }
        let runtime = Arc::new(self.build(tenant)?);
        self.entries.insert(id, runtime.clone());
        Ok(runtime)
    }

    fn build(&self, tenant: Arc<Tenant>) -> Result<TenantRuntime, SealError> {
        let opened = tenant.open(&self.keyring)?;
        let heap_bytes = heap_bytes(&tenant, &opened, &self.authority_host);
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
            // Pending tenants are refused before a runtime is built; were one built, it would accept
            // no Entra tenant at all.
            Authority::NotConnected(_) => AllowedTenants::Organizations(Vec::new()),
        };
        let allowed_apps = tenant.entra.allowed_app_ids().iter().map(|id| id.as_uuid()).collect();
        Ok(TenantRuntime {
            allowed_tenants,
            allowed_apps,
            credential,
            policy: policy(opened.authorization),
            tenant,
            heap_bytes,
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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use registry::{
        domain::{
            AcsConnection, AcsCredential, AcsEndpoint, AppId, DisplayName, EntraSettings, EntraTenantId,
            Limits, ServiceUrl, TenantId, TenantSlug, TenantStatus, Transport, WebhookTimeouts,
        },
        sealing::{Sealed, StoredSecret},
    };
    use secrecy::SecretBox;

    use super::*;

    const HOST: &str = "https://login.microsoftonline.com";

    /// A sealed secret as stored (the weight does not open it).
    fn stored() -> StoredSecret {
        let sealed = Sealed { key_id: "k1".into(), nonce: "n".repeat(16), ciphertext: "c".repeat(64) };
        StoredSecret { fingerprint: "sha256:01234567".into(), sealed }
    }

    /// A tenant with `apps` allowed apps and an ACS access key, and its secrets as opened.
    fn tenant(apps: u128, authorization: AuthorizationPolicy<OpenedSecret>) -> (Tenant, OpenedTenant) {
        let entra_tenant = EntraTenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        let app_ids = (1..=apps).map(|n| AppId::parse(&Uuid::from_u128(n).to_string()).unwrap()).collect();
        let tenant = Tenant {
            id: TenantId::from_uuid(Uuid::now_v7()),
            slug: TenantSlug::parse("fabrikam").unwrap(),
            display_name: DisplayName::parse("Fabrikam").unwrap(),
            status: TenantStatus::Active,
            entra: EntraSettings::new(Authority::Tenant(entra_tenant), app_ids).unwrap(),
            acs: AcsConnection {
                endpoint: AcsEndpoint::parse(
                    "https://fabrikam.communication.azure.com/",
                    Transport::HttpsOnly,
                )
                .unwrap(),
                credential: AcsCredential::AccessKey(stored()),
            },
            authorization: AuthorizationPolicy::None,
            limits: Limits::new(10, 20).unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        };
        let opened = OpenedTenant {
            credential: OpenedAcsCredential::AccessKey(SecretBox::new(Box::new(vec![7; 32]))),
            authorization,
        };
        (tenant, opened)
    }

    fn runtime(tenant: Tenant, heap_bytes: usize) -> Arc<TenantRuntime> {
        Arc::new(TenantRuntime {
            tenant: Arc::new(tenant),
            allowed_tenants: AllowedTenants::One(Uuid::nil()),
            allowed_apps: vec![],
            credential: acs::Credential::AccessKey(acs::AccessKey::from_bytes(vec![7; 32])),
            policy: authz::Policy::None,
            heap_bytes,
        })
    }

    #[test]
    fn a_runtime_weighs_moka_s_share_its_record_and_its_heap_but_not_the_shared_tenant() {
        let host = Url::parse(HOST).unwrap();
        let (record, opened) = tenant(1, AuthorizationPolicy::None);
        let heap = heap_bytes(&record, &opened, &host);
        assert_eq!(heap, 32 + 48, "one app id, and the 32-byte access key");
        let weight = weigh(&Uuid::nil(), &runtime(record, heap)) as usize;
        assert_eq!(weight, weight::ENTRY_OVERHEAD + 16 + 16 + size_of::<TenantRuntime>() + heap);
        assert!((700..1_000).contains(&weight), "about 0.8 KiB: {weight}");
    }

    #[test]
    fn a_runtimes_heap_grows_with_its_apps_and_its_policy() {
        let host = Url::parse(HOST).unwrap();
        let (small, opened) = tenant(1, AuthorizationPolicy::None);
        let base = heap_bytes(&small, &opened, &host);
        let (many, opened) = tenant(1000, AuthorizationPolicy::None);
        let apps = weight::items::<Uuid>(1000) - weight::items::<Uuid>(1);
        assert_eq!(heap_bytes(&many, &opened, &host) - base, apps, "16 bytes an app");
        let webhook = AuthorizationPolicy::Webhook {
            url: ServiceUrl::parse("https://auth.contoso.example/decide", Transport::HttpsOnly).unwrap(),
            secret: SecretBox::new(Box::new(vec![1; 40])),
            timeouts: WebhookTimeouts::default(),
        };
        let (record, opened) = tenant(1, webhook);
        assert_eq!(heap_bytes(&record, &opened, &host) - base, 48 + 48, "the URL's text and the secret");
    }
}
