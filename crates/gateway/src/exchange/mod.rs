//! One exchange, end to end, for a tenant resolved at the edge ([`crate::tenant::TenantContext`]): A1
//! validation, the policy for B, the cache, the user's and the tenant's limits, and the call to the
//! tenant's ACS resource.

pub mod cache;
mod entra_b;
mod error;
pub mod limits;
mod peek;
mod verified_b;

use std::{num::NonZeroU32, sync::Arc};

use chrono::{DateTime, Utc};
use registry::domain::{TenantSlug, Transport};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use self::{
    cache::{CachedToken, ExchangeCache},
    limits::{Limited, RateLimiter},
    verified_b::{BCheck, VerifiedBs},
};
pub use self::{entra_b::EntraB, error::ExchangeError};
use crate::{telemetry::access, tenant::TenantRuntime};

/// One exchange request, parsed; its tenant comes resolved, as a [`TenantRuntime`].
pub struct ExchangeInput<'a> {
    pub a1: &'a str,
    /// A3 and A2 as the caller claims them; `None` (hero-compatible route) takes them from A1.
    pub app_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// Artifact B.
    pub bearer: Option<&'a str>,
}

/// What the live gauges show, read at scrape time.
pub struct LiveState {
    pub replicas: u32,
    /// (authority, kid, time since the key was last seen)
    pub key_ages: Vec<(String, String, std::time::Duration)>,
    /// (tenant, 0 closed | 1 half-open | 2 open)
    pub breakers: Vec<(String, i64)>,
}

pub struct Exchanged {
    pub token: SecretString,
    pub expires_on: DateTime<Utc>,
    pub oid: Uuid,
    pub tid: Uuid,
    pub cache_hit: bool,
}

pub struct Exchanger {
    validator: Arc<entra::Validator>,
    authorizer: authz::Authorizer,
    acs: acs::AcsClient,
    cache: ExchangeCache,
    verified_bs: VerifiedBs,
    limiter: RateLimiter,
    transport: Transport,
}

pub struct ExchangerParts {
    pub validator: Arc<entra::Validator>,
    pub authorizer: authz::Authorizer,
    pub acs: acs::AcsClient,
    pub transport: Transport,
    /// Exchanges per minute reaching ACS for each Entra user of a tenant.
    pub user_exchanges_per_minute: NonZeroU32,
    /// The memory exchange results, users' rate buckets and verified Bs may take, in bytes.
    pub results_bytes: u64,
    pub user_buckets_bytes: u64,
    pub verified_b_bytes: u64,
}

impl Exchanger {
    pub fn new(parts: ExchangerParts) -> Self {
        Self {
            validator: parts.validator,
            authorizer: parts.authorizer,
            acs: parts.acs,
            cache: ExchangeCache::new(parts.results_bytes),
            verified_bs: VerifiedBs::new(parts.verified_b_bytes),
            limiter: RateLimiter::new(parts.user_exchanges_per_minute, parts.user_buckets_bytes),
            transport: parts.transport,
        }
    }

    /// Drops what this replica keeps about a tenant that changed (breaker, B decisions and keys,
    /// rate bucket), so the next exchange starts from its new settings.
    pub fn forget(&self, slug: &TenantSlug) {
        self.acs.forget_tenant(slug.as_str());
        self.authorizer.forget_tenant(slug.as_str());
        self.limiter.forget(slug.as_str());
    }

    /// How many replicas share the tenants' limits, from the heartbeat.
    pub fn set_live_replicas(&self, count: u32) {
        self.limiter.set_live_replicas(count);
    }

    /// Live replicas, signing-key ages and breaker states (0 closed, 1 half-open, 2 open), for metrics.
    pub fn live_state(&self) -> LiveState {
        let breakers = self
            .acs
            .breaker_states()
            .into_iter()
            .map(|(tenant, state)| {
                let value = match state {
                    acs::BreakerState::Closed => 0,
                    acs::BreakerState::HalfOpen => 1,
                    acs::BreakerState::Open => 2,
                };
                (tenant, value)
            })
            .collect();
        LiveState { replicas: self.limiter.live_replicas(), key_ages: self.validator.key_ages(), breakers }
    }

    /// The background refresh of Entra metadata and signing keys in use.
    pub async fn refresh_keys(&self) {
        self.validator.refresh().await;
    }

    /// Exchanges A1 for D for the resolved `tenant`.
    pub async fn exchange(
        &self,
        tenant: &TenantRuntime,
        input: &ExchangeInput<'_>,
    ) -> Result<Exchanged, ExchangeError> {
        let slug = tenant.slug();
        access::note(|line| line.tenant = Some(slug.to_string()));
        let expectations = entra::Expectations {
            authority: tenant.authority(),
            audiences: entra::ACS_AUDIENCES,
            required_scopes: entra::TEAMS_SCOPES,
            user: input.user_id,
            app: Some(entra::AppExpectation { claimed: input.app_id, allowed: tenant.allowed_apps() }),
        };
        let a1 = match self.validator.validate(input.a1, &expectations).await {
            Ok(a1) => a1,
            Err(rejection) => {
                // Keys unavailable: Entra's metadata cool-down, when it has one, says when to retry.
                let retry_after = (rejection.kind() == entra::RejectionKind::Unverifiable)
                    .then(|| self.validator.metadata_retry_after(tenant.authority()))
                    .flatten();
                let error = ExchangeError::Token { rejection, retry_after };
                return Err(refused(input.a1, error));
            }
        };
        access::note(|line| line.tid = Some(a1.tid));
        let Some(app_id) = a1.app_id else {
            let rejection = entra::Rejection::MissingClaim("appid");
            return Err(refused(input.a1, rejection.into()));
        };
        let subject = authz::Subject { tenant: slug.to_string(), tid: a1.tid, oid: a1.oid, app_id };
        let b = BCheck {
            tenant: tenant.id(),
            version: tenant.version(),
            policy: tenant.policy(),
            bearer: input.bearer,
            subject: &subject,
            a1_expires_at: a1.expires_at,
        };
        self.verified_bs.check(&self.authorizer, &b).await?;

        if !tenant.acs_endpoint().is_https() && self.transport == Transport::HttpsOnly {
            return Err(ExchangeError::InsecureEndpoint);
        }
        let key = cache::key(input.a1, tenant.id(), app_id, a1.oid);
        let (app_text, user_text) = (app_id.to_string(), a1.oid.to_string());
        let fetch = async {
            self.limiter.try_acquire_exchange(slug.as_str(), tenant.limits(), a1.tid, a1.oid).map_err(
                |limited| match limited {
                    Limited::User(retry_after) => ExchangeError::UserRateLimited { retry_after },
                    Limited::Tenant(retry_after) => ExchangeError::RateLimited { retry_after },
                },
            )?;
            let target = tenant.acs_target();
            let request = acs::ExchangeRequest { token: input.a1, app_id: &app_text, user_id: &user_text };
            let d = self.acs.exchange_teams_token(&target, &request).await?;
            Ok::<_, ExchangeError>(CachedToken::new(d.token, d.expires_on, a1.expires_at))
        };
        let (result, cache_hit) = self.cache.get_or_fetch(key, fetch).await;
        // Outside the fetch, so that every waiter of a coalesced exchange notes its refusal.
        let d = result.map_err(|error| refused(input.a1, error.into()))?;
        access::note(|line| (line.outcome, line.cache_hit) = (Some(access::OK), cache_hit));
        Ok(Exchanged {
            token: SecretString::from(d.token.expose_secret().to_owned()),
            expires_on: d.expires_on,
            oid: a1.oid,
            tid: a1.tid,
            cache_hit,
        })
    }
}

/// Notes what a refused A1 says about itself, unverified (`uti`, `kid`, `tid`, `ver`), for the
/// request's access line, which also carries the reason: enough to trace an attack or a misconfigured
/// client, never the token.
fn refused(a1: &str, error: ExchangeError) -> ExchangeError {
    if error.token_rejection_reason().is_some() {
        let peek::Peeked { uti, kid, tid, ver } = peek::peek(a1);
        access::note(|line| line.token = Some(access::TokenHints { uti, kid, tid, ver }));
    }
    error
}
