//! Every way an exchange can fail, mapped to the stable codes of API.md.

use std::time::Duration;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};

use crate::problem::Problem;

/// The rejection reason when ACS, not the gateway, refused A1.
pub const ACS_INVALID_TOKEN: &str = "acs_invalid_token";

/// The code when ACS refused the user for their Teams licence (or their organisation's Teams settings).
pub const TEAMS_LICENSE_MISSING: &str = "teams_license_missing";

#[derive(Debug, Clone, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no such tenant")]
    TenantNotFound,
    #[error("tenant is suspended")]
    TenantSuspended,
    #[error(transparent)]
    Token(#[from] entra::Rejection),
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
    /// Postgres cannot be reached and this replica does not know the tenant (or knew it too long ago).
    #[error("the tenant registry is unreachable and this tenant is not known here; try again shortly")]
    RegistryUnavailable,
    /// Shared, so that every waiter of a coalesced exchange gets the same error.
    #[error("internal error")]
    Internal(std::sync::Arc<anyhow::Error>),
}

/// The shared outcome of a coalesced exchange: every waiter gets the same answer.
impl From<std::sync::Arc<ExchangeError>> for ExchangeError {
    fn from(shared: std::sync::Arc<ExchangeError>) -> Self {
        std::sync::Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
    }
}

impl ExchangeError {
    /// The stable API code; also the `outcome` label of metrics.
    pub fn code(&self) -> &'static str {
        self.problem().code
    }

    /// Why A1 was refused, when it was: the validator's short reason, or `acs_invalid_token` when ACS
    /// itself refused it. A bounded set, for logs and the `reason` label of metrics.
    pub fn token_rejection_reason(&self) -> Option<&'static str> {
        match self {
            Self::Token(rejection) => Some(rejection.reason()),
            Self::Acs(acs::AcsError::InvalidToken) => Some(ACS_INVALID_TOKEN),
            _ => None,
        }
    }

    fn problem(&self) -> Problem {
        let seconds = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self {
            Self::InvalidRequest(detail) => Problem::invalid_request(detail.clone()),
            Self::TenantNotFound => Problem::new(StatusCode::NOT_FOUND, "tenant_not_found", self.to_string()),
            Self::TenantSuspended => {
                Problem::new(StatusCode::FORBIDDEN, "tenant_suspended", self.to_string())
            }
            Self::Token(rejection) => {
                let code = rejection.code();
                let http = match code {
                    "invalid_token" => 401,
                    "upstream_unavailable" => 503,
                    _ => 403,
                };
                let mut problem = Problem::new(status(http), code, rejection.to_string());
                if http == 503 {
                    problem.retry_after = Some(30);
                }
                problem
            }
            Self::Authorization(error) => {
                let code = error.code();
                let http = match code {
                    "user_mismatch" => 403,
                    "upstream_unavailable" => 503,
                    _ => 401,
                };
                // A webhook that did not answer may well answer shortly; a key set that could not be
                // fetched is not asked again at once, so the caller is told to wait longer, as for A1's.
                let retry_after = match error {
                    authz::AuthzError::KeysUnavailable => Some(30),
                    _ => (http == 503).then_some(5),
                };
                Problem { retry_after, ..Problem::new(status(http), code, error.to_string()) }
            }
            Self::RateLimited { retry_after } | Self::UserRateLimited { retry_after } => Problem {
                retry_after: Some(seconds(*retry_after).max(1)),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", self.to_string())
            },
            Self::Acs(error) => acs_problem(error, seconds),
            Self::InsecureEndpoint => {
                Problem::new(StatusCode::BAD_GATEWAY, "upstream_error", self.to_string())
            }
            // Postgres is down: nothing the caller did, and worth retrying shortly.
            Self::RegistryUnavailable => Problem {
                retry_after: Some(registry::health::RETRY_AFTER.as_secs()),
                ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable", self.to_string())
            },
            Self::Internal(_) => Problem::internal(),
        }
    }
}

fn acs_problem(error: &acs::AcsError, seconds: impl Fn(Duration) -> u64) -> Problem {
    use acs::AcsError as E;
    // At least a second: `Retry-After: 0` after three failed tries would invite an immediate fourth.
    let retry_after = error.retry_after().map(|wait| seconds(wait).max(1));
    let problem = match error {
        E::InvalidToken => {
            Problem::new(StatusCode::UNAUTHORIZED, "invalid_token", "ACS did not accept the token")
        }
        E::BadRequest { message, target, .. } => {
            let detail = match target {
                Some(target) => format!("ACS refused {target}: {message}"),
                None => format!("ACS refused the request: {message}"),
            };
            Problem::invalid_request(detail)
        }
        E::UserRefused(refusal) => user_refusal_problem(*refusal),
        E::Throttled { .. } => {
            Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "ACS is throttling this resource")
        }
        E::CredentialRejected { .. } | E::TokenEndpoint(_) | E::Protocol(_) => Problem::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "ACS answered in a way the gateway cannot pass on",
        ),
        E::Unavailable { .. } | E::CircuitOpen { .. } => {
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable", "ACS is unavailable")
        }
        E::Timeout => {
            Problem::new(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", "ACS did not answer in time")
        }
    };
    let default_wait =
        matches!(error, E::Unavailable { .. } | E::CircuitOpen { .. } | E::Throttled { .. }).then_some(5);
    Problem { retry_after: retry_after.or(default_wait), ..problem }
}

/// ACS refused the user, not the gateway: the caller learns what only the user's organisation can fix.
fn user_refusal_problem(refusal: acs::UserRefusal) -> Problem {
    use acs::UserRefusal as R;
    let detail = match refusal {
        R::TeamsLicenseMissing => {
            "ACS refused the user: they have no Microsoft Teams licence, or Teams is turned off in it; \
             their organisation's administrator can assign one"
        }
        R::TeamsDisabledForTenant => {
            "ACS refused the user: their organisation has turned Teams off for their licence type; \
             their organisation's administrator can turn it on"
        }
    };
    Problem::new(StatusCode::FORBIDDEN, TEAMS_LICENSE_MISSING, detail)
}

impl ResponseError for ExchangeError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(error) => tracing::error!(error = format!("{error:#}"), "exchange failed"),
            Self::Acs(acs::AcsError::CredentialRejected { .. } | acs::AcsError::TokenEndpoint(_)) => {
                tracing::error!(error = %self, "ACS rejected the tenant's credential");
            }
            Self::Acs(acs::AcsError::UserRefused(refusal)) => tracing::info!(
                outcome = self.code(),
                acs_code = refusal.acs_code(),
                "ACS refused the user (their Teams licence or organisation), not the gateway's credential"
            ),
            other => tracing::info!(outcome = other.code(), reason = %other, "exchange refused"),
        }
        self.problem().error_response()
    }
}
