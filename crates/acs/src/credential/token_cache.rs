//! Bearer tokens for ACS, cached per tenant and credential until shortly before they expire.
//!
//! Concurrent callers for the same key share one fetch (moka's `try_get_with` is single-flight, and
//! hands a failed fetch's error to every waiter instead of letting each retry in turn). Failures are
//! not cached. The entry lives until the refresh point, so the next caller after it fetches anew
//! while the old token still has minutes left: no request ever carries a token about to expire.
//!
//! The tokens are bounded by the memory they take (an Entra token of about 1.5 KiB takes about 2 KiB
//! here), not by their number; there is one per tenant with a client-secret credential.

use std::{
    mem::size_of,
    sync::Arc,
    time::{Duration, Instant},
};

use jose::weight;
use moka::{Expiry, future::Cache};
use secrecy::{ExposeSecret, SecretString};

use super::{
    ClientSecretCredential,
    token_endpoint::{TokenEndpointError, fetch_token},
};
use crate::observer::UpstreamObserver;

/// Refresh this long before expiry at the latest...
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// ...or at this fraction of the lifetime, for short-lived tokens (1/10).
const REFRESH_MARGIN_DIVISOR: u32 = 10;
/// The memory the tokens may take: about 12 000 tenants' tokens. Beyond, the least used tenants
/// fetch theirs again.
const MAX_BYTES: u64 = 24 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    tenant: Arc<str>,
    credential: [u8; 32],
}

#[derive(Clone)]
struct CachedToken {
    token: SecretString,
    fresh_for: Duration,
}

/// What one token costs: moka's bookkeeping, the key with the tenant's shared text, the entry and the
/// token's text (each text one allocation, counted with the allocator's header and rounding).
fn weigh(key: &TokenKey, value: &CachedToken) -> u32 {
    let tenant = weight::alloc(2 * size_of::<usize>() + key.tenant.len());
    let token = weight::text(value.token.expose_secret());
    weight::to_weight(
        weight::ENTRY_OVERHEAD + size_of::<TokenKey>() + tenant + size_of::<CachedToken>() + token,
    )
}

struct UntilRefresh;

impl Expiry<TokenKey, CachedToken> for UntilRefresh {
    fn expire_after_create(&self, _: &TokenKey, value: &CachedToken, _: Instant) -> Option<Duration> {
        Some(value.fresh_for)
    }
}

/// The bearer-token cache shared by all requests of one [`AcsClient`](crate::AcsClient).
#[derive(Clone)]
pub(crate) struct BearerTokens {
    cache: Cache<TokenKey, CachedToken>,
}

impl BearerTokens {
    pub(crate) fn new() -> Self {
        let cache = Cache::builder()
            .max_capacity(MAX_BYTES)
            .weigher(weigh)
            .expire_after(UntilRefresh)
            .support_invalidation_closures()
            .build();
        Self { cache }
    }

    /// A token for `credential`, fetched at most once per refresh period per tenant.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        tenant: &str,
        credential: &ClientSecretCredential,
        timeout: Duration,
        observer: Option<&dyn UpstreamObserver>,
    ) -> Result<SecretString, TokenEndpointError> {
        let fetch = async {
            let fetched = fetch_token(http, credential, tenant, timeout, observer).await?;
            tracing::debug!(
                tenant,
                lifetime_s = fetched.lifetime.as_secs(),
                "fetched an Entra token for ACS"
            );
            Ok(CachedToken { token: fetched.token, fresh_for: fresh_for(fetched.lifetime) })
        };
        match self.cache.try_get_with(key(tenant, credential), fetch).await {
            Ok(cached) => Ok(cached.token),
            Err(shared) => Err(TokenEndpointError::clone(&shared)),
        }
    }

    /// Drops the cached token, e.g. after ACS refused it (revoked, or the role was removed).
    pub(crate) async fn invalidate(&self, tenant: &str, credential: &ClientSecretCredential) {
        self.cache.invalidate(&key(tenant, credential)).await;
    }

    pub(crate) fn forget_tenant(&self, tenant: &str) {
        let tenant: Arc<str> = tenant.into();
        // Fails only when closures are unsupported, which `new` enables.
        let _ = self.cache.invalidate_entries_if(move |key, _| key.tenant == tenant);
    }
}

fn key(tenant: &str, credential: &ClientSecretCredential) -> TokenKey {
    TokenKey { tenant: tenant.into(), credential: credential.cache_fingerprint() }
}

/// How long a token with `lifetime` is served from the cache: all of it but a refresh margin of
/// 5 minutes, or a tenth of the lifetime when that is shorter.
fn fresh_for(lifetime: Duration) -> Duration {
    let margin = MAX_REFRESH_MARGIN.min(lifetime / REFRESH_MARGIN_DIVISOR);
    lifetime.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_long_token_is_refreshed_five_minutes_before_expiry() {
        assert_eq!(fresh_for(Duration::from_secs(3600)), Duration::from_secs(3300));
    }

    #[test]
    fn a_token_weighs_moka_s_share_its_key_and_its_text() {
        let key = TokenKey { tenant: "fabrikam".into(), credential: [0; 32] };
        let token = |len: usize| CachedToken { token: "t".repeat(len).into(), fresh_for: Duration::ZERO };
        let weight = weigh(&key, &token(1500)) as usize;
        assert_eq!(
            weight,
            weight::ENTRY_OVERHEAD + size_of::<TokenKey>() + 32 + size_of::<CachedToken>() + 1520
        );
        assert!((1_900..2_100).contains(&weight), "about 2 KiB: {weight}");
    }

    #[test]
    fn a_short_token_is_refreshed_after_nine_tenths_of_its_life() {
        assert_eq!(fresh_for(Duration::from_secs(600)), Duration::from_secs(540));
        assert_eq!(fresh_for(Duration::ZERO), Duration::ZERO);
    }
}
