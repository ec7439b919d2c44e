//! Every way an exchange can fail. Each error knows its [`Category`]; the category alone gives the
//! status, the stable code of API.md, the log level and the metric outcome.

use std::{borrow::Cow, time::Duration};

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use tracing::Level;

use crate::{
    category::{BFault, Category, ClientFault, Outage, TenantFault, TokenFault, retry_seconds},
    telemetry::access,
    tenant::TenantError,
};

/// The rejection reason when ACS, not the gateway, refused A1.
pub const ACS_INVALID_TOKEN: &str = "acs_invalid_token";

/// The code when ACS refused the user for their Teams licence (or their organisation's Teams settings).
pub const TEAMS_LICENSE_MISSING: &str = "teams_license_missing";

/// How long to wait when a key set could not be fetched and no cool-down says better: a key source
/// that failed is not asked again at once.
const KEY_SOURCE_RETRY_AFTER: u64 = 30;

/// How long to wait for an upstream that gave no hint of its own (ACS, the tenant's webhook).
const UPSTREAM_RETRY_AFTER: u64 = 5;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    InvalidRequest(String),
    /// The tenant could not be resolved: unknown, suspended, or the registry unreachable.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// A1 refused, or not checkable; `retry_after` is Entra's metadata cool-down when the keys were
    /// unavailable.
    #[error("{rejection}")]
    Token { rejection: entra::Rejection, retry_after: Option<Duration> },
    #[error(transparent)]
    Authorization(#[from] authz::AuthzError),
    #[error("tenant exchange limit exceeded")]
    RateLimited { retry_after: Duration },
    /// The per-user limit (Entra `tid`, `oid`) of exchanges that reach ACS.
    #[error("exchange limit for this user exceeded")]
    UserRateLimited { retry_after: Duration },
    #[error(transparent)]
    Acs(#[from] acs::AcsError),
    #[error("plain http ACS endpoints are refused (ACSGW_ALLOW_INSECURE_HTTP is off)")]
    InsecureEndpoint,
    /// Shared, so that every waiter of a coalesced exchange gets the same error.
    #[error("internal error")]
    Internal(std::sync::Arc<anyhow::Error>),
}

impl From<entra::Rejection> for ExchangeError {
    fn from(rejection: entra::Rejection) -> Self {
        Self::Token { rejection, retry_after: None }
    }
}

/// The shared outcome of a coalesced exchange: every waiter gets the same answer.
impl From<std::sync::Arc<ExchangeError>> for ExchangeError {
    fn from(shared: std::sync::Arc<ExchangeError>) -> Self {
        std::sync::Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl ExchangeError {
    /// Whose problem this is.
    pub fn category(&self) -> Category {
        match self {
            Self::InvalidRequest(_) => Category::Client(ClientFault::Input),
            Self::Tenant(error) => error.category(),
            Self::Token { rejection, retry_after } => token_category(rejection, *retry_after),
            Self::Authorization(error) => authorization_category(error),
            Self::RateLimited { retry_after } | Self::UserRateLimited { retry_after } => {
                Category::Client(ClientFault::OverLimit { retry_after: retry_seconds(*retry_after) })
            }
            Self::Acs(error) => acs_category(error),
            Self::InsecureEndpoint => Category::Tenant(TenantFault::Endpoint),
            Self::Internal(_) => Category::Bug,
        }
    }

    /// The stable API code; also the `outcome` label of metrics.
    pub fn code(&self) -> &'static str {
        self.category().code()
    }

    /// Why A1 was refused, when it was: the validator's short reason, or `acs_invalid_token` when ACS
    /// itself refused it. A bounded set, for logs and the `reason` label of metrics.
    pub fn token_rejection_reason(&self) -> Option<&'static str> {
        match self {
            Self::Token { rejection, .. } => Some(rejection.reason()),
            Self::Acs(acs::AcsError::InvalidToken) => Some(ACS_INVALID_TOKEN),
            _ => None,
        }
    }

    /// The problem's `detail`: the error's own words, but for ACS's answers, which are described in
    /// the gateway's.
    fn detail(&self) -> String {
        match self {
            Self::Acs(error) => acs_detail(error),
            other => other.to_string(),
        }
    }

    /// Notes the outcome and why for the request's access line; a bug, or a credential the tenant
    /// must fix, also gets an error line of its own.
    fn log(&self, category: Category) {
        let outcome = category.code();
        let acs_code = match self {
            Self::Acs(acs::AcsError::UserRefused(refusal)) => Some(refusal.acs_code()),
            _ => None,
        };
        let reason: Option<Cow<'static, str>> = match self {
            // The error line carries the cause; ACS's code says why it refused the user.
            Self::Internal(_)
            | Self::Tenant(TenantError::Internal(_))
            | Self::Acs(acs::AcsError::UserRefused(_)) => None,
            Self::Authorization(error) => Some(Cow::Borrowed(error.reason())),
            other => {
                Some(other.token_rejection_reason().map_or_else(|| other.to_string().into(), Cow::Borrowed))
            }
        };
        access::note(|line| {
            line.outcome = Some(outcome);
            line.reason = reason;
            line.acs_code = acs_code;
        });
        if category.log_level() == Level::ERROR {
            let (message, cause) = match self {
                Self::Internal(error) | Self::Tenant(TenantError::Internal(error)) => {
                    ("exchange failed", format!("{error:#}"))
                }
                Self::Acs(acs::AcsError::CredentialRejected { .. } | acs::AcsError::TokenEndpoint(_)) => {
                    ("ACS rejected the tenant's credential", self.to_string())
                }
                other => ("exchange failed", other.to_string()),
            };
            tracing::error!(outcome, reason = cause, "{message}");
        }
    }
}

fn token_category(rejection: &entra::Rejection, retry_after: Option<Duration>) -> Category {
    use entra::RejectionKind as K;
    match rejection.kind() {
        K::Invalid => Category::UserToken(TokenFault::Invalid),
        K::Refused(code) => Category::UserToken(TokenFault::Refused(code)),
        // Nobody could tell whether the token is good: wait as long as Entra's metadata cools down.
        K::Unverifiable => Category::Upstream {
            outage: Outage::Unavailable,
            retry_after: Some(retry_after.map_or(KEY_SOURCE_RETRY_AFTER, retry_seconds)),
        },
    }
}

fn authorization_category(error: &authz::AuthzError) -> Category {
    use authz::AuthzError as E;
    match error {
        E::Missing | E::Invalid(_) | E::Refused { .. } | E::Denied => Category::VendorB(BFault::Invalid),
        E::UserMismatch => Category::VendorB(BFault::OtherUser),
        // A webhook that did not answer may well answer shortly; a key set that could not be
        // fetched is not asked again at once, so the caller is told to wait longer, as for A1's.
        E::ServiceUnavailable(_) => {
            Category::Upstream { outage: Outage::Unavailable, retry_after: Some(UPSTREAM_RETRY_AFTER) }
        }
        E::KeysUnavailable => {
            Category::Upstream { outage: Outage::Unavailable, retry_after: Some(KEY_SOURCE_RETRY_AFTER) }
        }
    }
}

fn acs_category(error: &acs::AcsError) -> Category {
    use acs::AcsError as E;
    let hinted = error.retry_after().map(retry_seconds);
    let upstream =
        |outage, default: Option<u64>| Category::Upstream { outage, retry_after: hinted.or(default) };
    match error {
        E::InvalidToken => Category::UserToken(TokenFault::Invalid),
        E::BadRequest { .. } => Category::Client(ClientFault::Input),
        E::UserRefused(_) => Category::UserToken(TokenFault::Refused(TEAMS_LICENSE_MISSING)),
        E::CredentialRejected { .. } | E::TokenEndpoint(_) => Category::Tenant(TenantFault::Credential),
        E::Throttled { .. } => upstream(Outage::Throttled, Some(UPSTREAM_RETRY_AFTER)),
        E::Protocol(_) => upstream(Outage::BadAnswer, None),
        E::Unavailable { .. } | E::CircuitOpen { .. } => {
            upstream(Outage::Unavailable, Some(UPSTREAM_RETRY_AFTER))
        }
        E::Timeout => upstream(Outage::Timeout, None),
    }
}

fn acs_detail(error: &acs::AcsError) -> String {
    use acs::{AcsError as E, UserRefusal as R};
    let detail = match error {
        E::InvalidToken => "ACS did not accept the token",
        E::BadRequest { message, target: Some(target), .. } => {
            return format!("ACS refused {target}: {message}");
        }
        E::BadRequest { message, target: None, .. } => return format!("ACS refused the request: {message}"),
        // ACS refused the user, not the gateway: the caller learns what only the user's organisation
        // can fix.
        E::UserRefused(R::TeamsLicenseMissing) => {
            "ACS refused the user: they have no Microsoft Teams licence, or Teams is turned off in it; \
             their organisation's administrator can assign one"
        }
        E::UserRefused(R::TeamsDisabledForTenant) => {
            "ACS refused the user: their organisation has turned Teams off for their licence type; \
             their organisation's administrator can turn it on"
        }
        E::Throttled { .. } => "ACS is throttling this resource",
        E::CredentialRejected { .. } | E::TokenEndpoint(_) | E::Protocol(_) => {
            "ACS answered in a way the gateway cannot pass on"
        }
        E::Unavailable { .. } | E::CircuitOpen { .. } => "ACS is unavailable",
        E::Timeout => "ACS did not answer in time",
    };
    detail.to_owned()
}

impl ResponseError for ExchangeError {
    fn status_code(&self) -> StatusCode {
        self.category().status()
    }

    fn error_response(&self) -> HttpResponse {
        let category = self.category();
        self.log(category);
        category.problem(self.detail()).error_response()
    }
}
