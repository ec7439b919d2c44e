//! The ACS Identity client: one per process, shared by all requests and tenants.

mod attempt;
mod breaker;
mod config;
mod retry;

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use uuid::Uuid;

use self::{
    attempt::{Attempt, Auth, Outcome},
    breaker::{Breakers, Verdict},
    retry::Backoff,
};
pub use self::{
    breaker::BreakerState,
    config::{AcsClientConfig, BreakerConfig},
};
use crate::{
    credential::{BearerTokens, Credential},
    error::AcsError,
    exchange::{AcsTarget, AcsToken, ExchangeRequest, exchange_url},
    http::build_client,
    observer::{UpstreamCall, UpstreamKind},
    signing,
};

/// Below this, a retry would most likely just time out and hide the real error behind a 504.
const MIN_USEFUL_ATTEMPT: Duration = Duration::from_millis(250);

/// Calls ACS Identity for any tenant. Cheap to clone; clones share the connection pool, the
/// bearer-token cache and the circuit breakers.
#[derive(Clone)]
pub struct AcsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: AcsClientConfig,
    breakers: Arc<Breakers>,
    tokens: BearerTokens,
}

impl fmt::Debug for AcsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcsClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl AcsClient {
    /// Fails only if the TLS backend cannot be initialised.
    pub fn new(config: AcsClientConfig) -> Result<Self, reqwest::Error> {
        let http = build_client(config.connect_timeout)?;
        let breakers = Arc::new(Breakers::new(config.breaker.clone(), config.clock));
        Ok(Self { inner: Arc::new(Inner { http, config, breakers, tokens: BearerTokens::new() }) })
    }

    pub fn config(&self) -> &AcsClientConfig {
        &self.inner.config
    }

    /// Exchanges a Teams user's Entra token for an ACS token on the tenant's resource.
    ///
    /// Retries 429/500/502/503/504 and connect errors with jittered backoff (honouring
    /// `Retry-After`), re-signing each attempt, all within `total_timeout`; answers at once with
    /// [`AcsError::CircuitOpen`] while the tenant's breaker is open.
    #[tracing::instrument(name = "acs_exchange", skip_all, fields(tenant = target.tenant))]
    pub async fn exchange_teams_token(
        &self,
        target: &AcsTarget<'_>,
        request: &ExchangeRequest<'_>,
    ) -> Result<AcsToken, AcsError> {
        let url = exchange_url(target.endpoint, &self.inner.config.api_version)?;
        let body = serde_json::to_vec(request)
            .map_err(|_| AcsError::Protocol("the exchange request could not be serialised".into()))?;
        let admission = self.inner.breakers.admit(target.tenant).map_err(|retry_after| {
            tracing::debug!(retry_after_ms = retry_after.as_millis(), "ACS circuit open; not calling ACS");
            AcsError::CircuitOpen { retry_after }
        })?;
        let result = self.call_with_retries(target, &url, &body).await;
        admission.settle(Verdict::of(&result));
        result
    }

    /// The tenant's circuit breaker state (`Closed` for tenants never seen failing).
    pub fn breaker_state(&self, tenant: &str) -> BreakerState {
        self.inner.breakers.state(tenant)
    }

    /// Every tenant whose breaker has recorded failures, with its state; all others are `Closed`.
    /// For a metrics gauge.
    pub fn breaker_states(&self) -> Vec<(String, BreakerState)> {
        self.inner.breakers.states()
    }

    /// Drops everything held for a tenant (breaker, bearer tokens): call it when a tenant is deleted
    /// or its ACS connection replaced.
    pub fn forget_tenant(&self, tenant: &str) {
        self.inner.breakers.forget(tenant);
        self.inner.tokens.forget_tenant(tenant);
    }

    async fn call_with_retries(
        &self,
        target: &AcsTarget<'_>,
        url: &url::Url,
        body: &[u8],
    ) -> Result<AcsToken, AcsError> {
        let config = &self.inner.config;
        let deadline = Instant::now() + config.total_timeout;
        let backoff = Backoff { base: config.backoff_base, max: config.backoff_max };
        // The same id on every attempt, as the SDKs do, so ACS's logs tie the retries together.
        let client_request_id = Uuid::new_v4().to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let auth = self.authorize(target, url, body, budget(deadline, config.attempt_timeout)?).await?;
            let timeout = budget(deadline, config.attempt_timeout)?;
            let result = attempt::send(&self.inner.http, url, body, &auth, &client_request_id, timeout).await;
            self.report(target.tenant, attempt, &result, &client_request_id);
            let (error, retry_after) = match result.outcome {
                Outcome::Token(token) => return Ok(token),
                Outcome::Fail(error) => return Err(self.final_failure(target, error).await),
                Outcome::Retry { error, retry_after } => (error, retry_after),
            };
            if attempt >= config.max_attempts.max(1) {
                return Err(error);
            }
            let delay = retry_after.unwrap_or_else(|| backoff.delay(attempt));
            let left = deadline.saturating_duration_since(Instant::now());
            if delay + MIN_USEFUL_ATTEMPT.min(config.attempt_timeout) > left {
                tracing::info!(
                    delay_ms = delay.as_millis(),
                    left_ms = left.as_millis(),
                    "not retrying ACS: the wait exceeds the time budget"
                );
                return Err(error);
            }
            tracing::warn!(attempt, delay_ms = delay.as_millis(), error = %error, "retrying the ACS exchange");
            tokio::time::sleep(delay).await;
        }
    }

    /// Fresh HMAC headers (new date) or a cached bearer token, for one attempt.
    async fn authorize(
        &self,
        target: &AcsTarget<'_>,
        url: &url::Url,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Auth, AcsError> {
        match target.credential {
            Credential::AccessKey(key) => {
                Ok(Auth::Hmac(signing::sign("POST", url, body, key.expose(), SystemTime::now())))
            }
            Credential::ClientSecret(credential) => {
                let observer = self.inner.config.observer.as_deref();
                let token = self
                    .inner
                    .tokens
                    .token(&self.inner.http, target.tenant, credential, timeout, observer)
                    .await?;
                Ok(Auth::Bearer(token))
            }
        }
    }

    async fn final_failure(&self, target: &AcsTarget<'_>, error: AcsError) -> AcsError {
        if let AcsError::CredentialRejected { status, code } = &error {
            tracing::error!(
                status,
                code = code.as_deref().unwrap_or("-"),
                credential = credential_kind(target.credential),
                "ACS rejected the gateway's credential for this tenant; check the tenant's ACS connection"
            );
            if let Credential::ClientSecret(credential) = target.credential {
                // Perhaps revoked or its role removed: do not keep serving it.
                self.inner.tokens.invalidate(target.tenant, credential).await;
            }
        }
        error
    }

    /// One line per attempt, at debug when the first attempt succeeded (the request's access line
    /// says enough), at info when it failed or follows a retry: what Azure support asks for then.
    fn report(&self, tenant: &str, attempt: u32, result: &Attempt, client_request_id: &str) {
        macro_rules! line {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    attempt,
                    status = result.status,
                    error = result.error.map(|e| e.as_str()),
                    acs_code = result.acs_code.as_deref(),
                    ms_cv = result.ms_cv.as_deref(),
                    latency_ms = result.duration.as_millis(),
                    client_request_id,
                    "ACS exchange attempt finished"
                )
            };
        }
        if attempt == 1 && matches!(result.outcome, Outcome::Token(_)) {
            line!(tracing::Level::DEBUG);
        } else {
            line!(tracing::Level::INFO);
        }
        if let Some(observer) = &self.inner.config.observer {
            observer.on_attempt(&UpstreamCall {
                tenant,
                kind: UpstreamKind::AcsExchange,
                attempt,
                status: result.status,
                error: result.error,
                duration: result.duration,
            });
        }
    }
}

/// The time the next attempt may take: the per-attempt timeout, clipped to what is left.
fn budget(deadline: Instant, attempt_timeout: Duration) -> Result<Duration, AcsError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() { Err(AcsError::Timeout) } else { Ok(left.min(attempt_timeout)) }
}

fn credential_kind(credential: &Credential) -> &'static str {
    match credential {
        Credential::AccessKey(_) => "accessKey",
        Credential::ClientSecret(_) => "clientSecret",
    }
}
