//! Settings of the [`Authorizer`](crate::Authorizer) that are the gateway's, not a tenant's.

use std::time::Duration;

/// The longest clock skew tolerated on `exp`, `nbf` and `iat` of a `jwt` policy's token.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct AuthorizerConfig {
    /// TCP and TLS set-up for every outbound call (a webhook's own timeout still bounds the total).
    pub connect_timeout: Duration,
    /// A whole key-set fetch.
    pub jwks_timeout: Duration,
    /// The least time between two fetches of one key set, so unknown kids cannot flood it.
    pub jwks_refresh_cooldown: Duration,
    /// A key set in use is fetched again in the background once its last good fetch is this old.
    pub jwks_refresh_interval: Duration,
    /// How long a key stays trusted after the last fetch that listed it: this bounds both the
    /// last-known-good keys kept while the key set is unreachable and a removed key's afterlife.
    pub jwks_key_ttl: Duration,
    /// Clock skew tolerated on `exp`/`nbf`/`iat`; at most [`MAX_LEEWAY`].
    pub leeway: Duration,
    /// A `jwt` policy's token may not be valid for longer than this, counted from `nbf` (else
    /// `iat`, else now); long-lived bearer tokens are refused rather than trusted for days.
    pub max_token_lifetime: Duration,
    /// The memory webhook answers may take, in bytes, across tenants (about 650 bytes each).
    pub decision_cache_bytes: u64,
    /// Key sets kept at most (one per tenant and JWKS URL); idle ones are dropped after a key TTL.
    pub key_set_capacity: u64,
    /// Measures key ages and key-set cool-downs: the real clock, or a manual one in tests. (Webhook
    /// answers live in a moka cache, which keeps its own time.)
    pub clock: jose::clock::Clock,
}

impl Default for AuthorizerConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            jwks_timeout: Duration::from_secs(5),
            jwks_refresh_cooldown: Duration::from_secs(60),
            jwks_refresh_interval: Duration::from_secs(3600),
            jwks_key_ttl: Duration::from_secs(24 * 3600),
            leeway: MAX_LEEWAY,
            max_token_lifetime: Duration::from_secs(24 * 3600),
            decision_cache_bytes: 8 * 1024 * 1024,
            key_set_capacity: 10_000,
            clock: jose::clock::Clock::real(),
        }
    }
}

/// The authorizer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("leeway must be at most {} seconds", MAX_LEEWAY.as_secs())]
    Leeway,
    #[error("could not build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl AuthorizerConfig {
    pub(crate) fn check(&self) -> Result<(), BuildError> {
        if self.leeway > MAX_LEEWAY {
            return Err(BuildError::Leeway);
        }
        Ok(())
    }

    /// The one client for key sets and webhooks: bounded connect time, no redirects (a redirect
    /// is not an answer, and following one could lead the gateway anywhere), no cookies.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client, BuildError> {
        Ok(reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("acs-gateway-authz/", env!("CARGO_PKG_VERSION")))
            .build()?)
    }
}
