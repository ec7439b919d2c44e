//! The one entry point: apply a tenant's policy to B for the user A1 proved.

use std::sync::Arc;

use jose::keys::KeyPolicy;
use secrecy::ExposeSecret;

use crate::{
    AuthorizerConfig, AuthzError, BuildError, EntraTokenVerifier, Policy, PolicyKind, Subject, bearer,
    decisions::DecisionCache,
    entra,
    jwt::{self, Clock, JwtPolicy, KeyStore},
    webhook,
};

/// What the policy concluded when B is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The tenant's policy is `none`: nothing was checked.
    NotRequired,
    /// B passed the policy. `cached` is true when a webhook answer was reused (or shared with a
    /// concurrent identical check) rather than asked for by this check; `expires_at` is B's `exp`
    /// (seconds since the epoch) when the policy read it (`jwt` and `entra`).
    Allowed { policy: PolicyKind, cached: bool, expires_at: Option<i64> },
}

/// Shared by every request and tenant: one HTTP client, the key sets of `jwt` policies and the
/// cached answers of `webhook` policies.
pub struct Authorizer {
    http: reqwest::Client,
    clock: Clock,
    keys: KeyStore,
    decisions: DecisionCache,
    entra: Arc<dyn EntraTokenVerifier>,
}

impl Authorizer {
    pub fn new(config: AuthorizerConfig, entra: Arc<dyn EntraTokenVerifier>) -> Result<Self, BuildError> {
        config.check()?;
        let http = config.http_client()?;
        let key_policy = KeyPolicy {
            timeout: config.jwks_timeout,
            key_ttl: config.jwks_key_ttl,
            refresh_cooldown: config.jwks_refresh_cooldown,
            refresh_interval: Some(config.jwks_refresh_interval),
            max_sets: Some(config.key_set_capacity),
            clock: config.clock,
        };
        Ok(Self {
            keys: KeyStore::new(http.clone(), key_policy),
            decisions: DecisionCache::new(config.decision_cache_bytes),
            clock: Clock { leeway: config.leeway, max_lifetime: config.max_token_lifetime },
            http,
            entra,
        })
    }

    /// Applies `policy` to `bearer` (the token after `Bearer `, if the request had one) for the user
    /// `subject` that A1 proved.
    ///
    /// Its span is at debug level: at info, every exchange would pay to build a span that nothing
    /// logs inside but the webhook's failures, which the request's span and access line tie in.
    #[tracing::instrument(name = "authz.check", level = "debug", skip_all, fields(tenant = %subject.tenant, policy = policy.kind().as_str()))]
    pub async fn check(
        &self,
        policy: &Policy,
        bearer: Option<&str>,
        subject: &Subject,
    ) -> Result<Decision, AuthzError> {
        if let Policy::None = policy {
            return Ok(Decision::NotRequired);
        }
        let decision = self.decide(policy, bearer, subject).await;
        if let Err(error) = &decision {
            // The gateway's access line carries the reason; this is for debugging.
            tracing::debug!(reason = error.reason(), code = error.code(), "authorization refused");
        }
        decision
    }

    async fn decide(
        &self,
        policy: &Policy,
        bearer: Option<&str>,
        subject: &Subject,
    ) -> Result<Decision, AuthzError> {
        let token = bearer::require(bearer)?;
        let allowed = |cached, expires_at| Decision::Allowed { policy: policy.kind(), cached, expires_at };
        match policy {
            Policy::None => Ok(Decision::NotRequired),
            Policy::Entra { audience, required_scopes } => {
                let expires_at =
                    entra::check(self.entra.as_ref(), audience, required_scopes, token, subject).await?;
                Ok(allowed(false, Some(expires_at)))
            }
            Policy::Jwt { issuer, audience, key, user_claim, required_claims } => {
                let policy = JwtPolicy { issuer, audience, key, user_claim, required_claims };
                let expires_at = jwt::check(&self.keys, self.clock, &policy, token, subject).await?;
                Ok(allowed(false, Some(expires_at)))
            }
            Policy::Webhook { url, secret, timeout, cache_for } => {
                let call = webhook::Call {
                    url,
                    secret: secret.expose_secret(),
                    timeout: *timeout,
                    subject,
                    bearer: token,
                };
                let ask = async {
                    webhook::ask(&self.http, call).await.map_err(|failure| {
                        tracing::warn!(
                            tenant = subject.tenant.as_str(),
                            host = url.host_str(),
                            reason = failure.reason(),
                            ?failure,
                            "authorization webhook gave no answer; failing closed"
                        );
                        AuthzError::ServiceUnavailable(failure)
                    })
                };
                let outcome = self.decisions.decide(subject, url, token, *cache_for, ask).await?;
                if outcome.allow { Ok(allowed(!outcome.asked, None)) } else { Err(AuthzError::Denied) }
            }
        }
    }

    /// Drops what is cached for `tenant` (webhook answers and key sets); call it when the tenant is
    /// deleted or its policy changes.
    pub fn forget_tenant(&self, tenant: &str) {
        self.decisions.forget_tenant(tenant);
        let tenant = tenant.to_owned();
        self.keys.forget(move |set| set.tenant == tenant);
    }
}
