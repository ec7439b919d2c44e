//! Where a token's key and expected issuer come from: per token version, one metadata document and
//! key set that every tenant shares, and a tenant's own only for a key the shared set lacks.
//!
//! Entra publishes the same signing keys for every tenant of a cloud, so the multi-tenant metadata
//! (`common` for v1 tokens, as Microsoft documents it; `organizations` for v2) serves them all: its issuer is a `{tenantid}` template, which the
//! validator fills in with the token's tenant (already accepted by the authority), so every token's
//! issuer is still checked against its own tenant. N tenants then cost one metadata fetch and one
//! key-set fetch per token version, not N. A tenant may still sign with keys of its own (Microsoft: a
//! key specific to a tenant may not exist in the global keys): a kid the shared set does not list,
//! even after its refetch (one per cool-down), is looked up in the tenant's own document and key set,
//! fetched on demand with the same cool-down, single flight and last known good, and kept in bounded
//! caches that drop what goes unused. A shared document whose issuer is not a template cannot vouch
//! for a tenant, so then the tenant's own is used. A shared source that cannot be read makes the
//! answer "unavailable" for every tenant at once: an outage costs one fetch per cool-down, not N.
//!
//! Each tenant's own key set keeps only what its own URL served: never merged with another URL's,
//! so a key only one tenant publishes (customer-held signing keys exist) never verifies another's
//! token. Fetches and key ages are labelled by [`KeySource`], never by tenant.

use std::{collections::HashMap, sync::Arc, time::Duration};

use jose::keys::{KeyPolicy, KeySetId, KeyStore, VerificationKey};
use url::Url;
use uuid::Uuid;

use crate::{
    Rejection, TokenVersion, ValidatorConfig,
    metadata::{Metadata, MetadataCache, MetadataPolicy},
    observe::{FetchEvent, FetchKind, KeySource, Observer},
};

/// What Entra writes where a multi-tenant issuer names the tenant.
pub const TENANT_TEMPLATE: &str = "{tenantid}";

/// The authority whose metadata every work-or-school tenant shares, per token version: Microsoft
/// documents v1's multi-tenant document under `common` (issuer `https://sts.windows.net/{tenantid}/`)
/// and v2's under `organizations` (`https://login.microsoftonline.com/{tenantid}/v2.0`).
fn shared_segment(version: TokenVersion) -> &'static str {
    match version {
        TokenVersion::V1 => "common",
        TokenVersion::V2 => "organizations",
    }
}

/// A key set, named by its URL and labelled with the source it was reached through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SourcedUrl {
    url: Url,
    source: KeySource,
}

impl KeySetId for SourcedUrl {
    fn url(&self) -> &Url {
        &self.url
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Shared,
    Tenant,
}

fn source(scope: Scope, version: TokenVersion) -> KeySource {
    match (scope, version) {
        (Scope::Shared, TokenVersion::V1) => KeySource::Shared,
        (Scope::Shared, TokenVersion::V2) => KeySource::SharedV2,
        (Scope::Tenant, TokenVersion::V1) => KeySource::Tenant,
        (Scope::Tenant, TokenVersion::V2) => KeySource::TenantV2,
    }
}

pub struct KeySources {
    host: Url,
    observer: Observer,
    shared_metadata: MetadataCache,
    tenant_metadata: MetadataCache,
    shared_keys: KeyStore<SourcedUrl>,
    tenant_keys: KeyStore<SourcedUrl>,
}

impl KeySources {
    pub fn new(http: &reqwest::Client, config: &ValidatorConfig) -> Self {
        let metadata_policy = MetadataPolicy {
            timeout: config.http_timeout,
            refresh_after: config.metadata_refresh,
            max_age: config.key_ttl,
            failure_cooldown: config.metadata_failure_cooldown,
            max_failure_cooldown: config.refresh_cooldown,
            allow_insecure_http: config.allow_insecure_http,
            clock: config.clock,
        };
        let key_policy = |max_sets| KeyPolicy {
            timeout: config.http_timeout,
            key_ttl: config.key_ttl,
            refresh_cooldown: config.refresh_cooldown,
            refresh_interval: None,
            max_sets,
            clock: config.clock,
        };
        let capacity = config.tenant_sources_capacity;
        let metadata =
            |capacity| MetadataCache::new(http.clone(), metadata_policy, config.observer.clone(), capacity);
        Self {
            host: config.authority_host.clone(),
            observer: config.observer.clone(),
            shared_metadata: metadata(None),
            tenant_metadata: metadata(Some(capacity)),
            shared_keys: KeyStore::new(http.clone(), key_policy(None)),
            tenant_keys: KeyStore::new(http.clone(), key_policy(Some(capacity))),
        }
    }

    /// The key `kid` for a token of `tid` and the document naming its issuer (possibly a template):
    /// the shared source's, else the tenant's own.
    pub async fn key(
        &self,
        version: TokenVersion,
        tid: Uuid,
        kid: &str,
    ) -> Result<(Arc<Metadata>, Arc<VerificationKey>), Rejection> {
        let shared = self.document(Scope::Shared, shared_segment(version), version).await?;
        let vouches = shared.issuer.contains(TENANT_TEMPLATE);
        if vouches {
            match self.key_in(Scope::Shared, &shared, version, kid).await {
                Err(Rejection::UnknownKey) => {}
                found => return found.map(|key| (shared, key)),
            }
        }
        let own = self.document(Scope::Tenant, &tid.hyphenated().to_string(), version).await?;
        let scope = if own.jwks_uri != shared.jwks_uri {
            Scope::Tenant
        } else if vouches {
            // The very set just asked: one URL, one entry.
            return Err(Rejection::UnknownKey);
        } else {
            Scope::Shared
        };
        let key = self.key_in(scope, &own, version, kid).await?;
        Ok((own, key))
    }

    async fn document(
        &self,
        scope: Scope,
        segment: &str,
        version: TokenVersion,
    ) -> Result<Arc<Metadata>, Rejection> {
        let url = self.metadata_url(segment, version)?;
        self.metadata(scope).get(&url, source(scope, version)).await
    }

    async fn key_in(
        &self,
        scope: Scope,
        document: &Metadata,
        version: TokenVersion,
        kid: &str,
    ) -> Result<Arc<VerificationKey>, Rejection> {
        let source = source(scope, version);
        let id = SourcedUrl { url: document.jwks_uri.clone(), source };
        let heard = |ok| (self.observer)(FetchEvent { authority: source.label(), kind: FetchKind::Keys, ok });
        Ok(self.keys(scope).key(&id, kid, heard).await?)
    }

    fn metadata(&self, scope: Scope) -> &MetadataCache {
        match scope {
            Scope::Shared => &self.shared_metadata,
            Scope::Tenant => &self.tenant_metadata,
        }
    }

    fn keys(&self, scope: Scope) -> &KeyStore<SourcedUrl> {
        match scope {
            Scope::Shared => &self.shared_keys,
            Scope::Tenant => &self.tenant_keys,
        }
    }

    fn metadata_url(&self, segment: &str, version: TokenVersion) -> Result<Url, Rejection> {
        let host = self.host.as_str().trim_end_matches('/');
        let path = match version {
            TokenVersion::V1 => format!("{host}/{segment}/.well-known/openid-configuration"),
            TokenVersion::V2 => format!("{host}/{segment}/v2.0/.well-known/openid-configuration"),
        };
        Url::parse(&path).map_err(|_| Rejection::KeysUnavailable)
    }

    /// The longest cool-down left of the shared documents and, when named, of `tenant`'s own.
    pub fn metadata_retry_after(&self, tenant: Option<Uuid>) -> Option<Duration> {
        let own = tenant.map(|tid| tid.hyphenated().to_string());
        let mut left = None;
        for version in [TokenVersion::V1, TokenVersion::V2] {
            let segments = [(Scope::Shared, shared_segment(version))]
                .into_iter()
                .chain(own.as_deref().map(|t| (Scope::Tenant, t)));
            for (scope, segment) in segments {
                let Ok(url) = self.metadata_url(segment, version) else { continue };
                left = left.max(self.metadata(scope).cooldown_left(&url));
            }
        }
        left
    }

    /// Fetches every document and key set in use again, shared ones first.
    pub async fn refresh(&self) {
        self.shared_metadata.refresh_all().await;
        self.tenant_metadata.refresh_all().await;
        let observer = &self.observer;
        let heard = |id: &SourcedUrl, ok| {
            observer(FetchEvent { authority: id.source.label(), kind: FetchKind::Keys, ok });
        };
        self.shared_keys.refresh_all(heard).await;
        self.tenant_keys.refresh_all(heard).await;
    }

    /// The age of every key since a fetch last listed it, by source label and kid: the oldest copy
    /// when several tenants' own sets list one kid (bounded by the tenant sources kept).
    pub fn key_ages(&self) -> Vec<(String, String, Duration)> {
        let mut ages: HashMap<(&'static str, String), Duration> = HashMap::new();
        let all = self.shared_keys.key_ages().into_iter().chain(self.tenant_keys.key_ages());
        for (id, kid, age) in all {
            let oldest = ages.entry((id.source.label(), kid)).or_default();
            *oldest = (*oldest).max(age);
        }
        ages.into_iter().map(|((label, kid), age)| (label.to_owned(), kid, age)).collect()
    }
}
