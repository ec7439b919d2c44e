//! Whose problem an error is. Every error the gateway answers with knows its [`Category`], and this
//! module alone turns a category into the status, the stable code, the problem body, the log level
//! and the metric outcome (the code), so that the same kind of failure is answered the same way
//! wherever it arises.

use std::time::Duration;

use actix_web::http::StatusCode;
use tracing::Level;

use crate::problem::Problem;

/// Whose problem an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The caller's request: malformed (400) or invalid (422), unauthenticated (401), naming nothing
    /// that exists (404), in conflict (409, 412, 428), or over a limit (429).
    Client(ClientFault),
    /// The user's token or licence: not valid (401), or valid and refused for the stated reason (403).
    UserToken(TokenFault),
    /// The vendor's B: not valid (401), or valid and someone else's (403).
    VendorB(BFault),
    /// The tenant's configuration: suspended or not connected yet (403), or an ACS credential or
    /// endpoint the gateway cannot use (502).
    Tenant(TenantFault),
    /// The gateway's own configuration lacks what a feature needs (onboarding's settings): 503, and
    /// waiting will not help, so no `Retry-After`.
    NotConfigured,
    /// An upstream (ACS, a key source, a webhook, Postgres) cannot answer now; `retry_after` in seconds.
    Upstream { outage: Outage, retry_after: Option<u64> },
    /// Ours: a 500 that reveals nothing internal.
    Bug,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientFault {
    Input,
    /// A body that parsed, with fields that break the rules (422, with the fields named).
    Validation,
    /// No usable credential (the admin API's key).
    Unauthenticated,
    /// A valid credential whose role does not allow the call (the admin API's key).
    Forbidden,
    /// The exchange's tenant does not exist.
    UnknownTenant,
    /// The admin API's resource does not exist.
    NotFound,
    /// It exists already.
    Conflict,
    /// A change without `If-Match` where one is required.
    PreconditionRequired,
    /// A change whose `If-Match` names another version.
    PreconditionFailed,
    /// Over the tenant's or the user's limit; seconds until the next may pass.
    OverLimit {
        retry_after: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFault {
    Invalid,
    /// Valid, and refused: the code says why (`insufficient_scope`, `teams_license_missing`, ...).
    Refused(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BFault {
    Invalid,
    OtherUser,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantFault {
    Suspended,
    /// `pending`: its customer's admin has not connected it yet.
    NotConnected,
    /// ACS or its token endpoint refused the tenant's credential: someone must fix it.
    Credential,
    /// A plain http ACS endpoint where only https is allowed.
    Endpoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    Unavailable,
    Timeout,
    Throttled,
    /// It answered, in a way the gateway cannot pass on.
    BadAnswer,
}

impl Category {
    /// The stable code of API.md; also the `outcome` label of metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Client(ClientFault::Input) => "invalid_request",
            Self::Client(ClientFault::Validation) => "validation_failed",
            Self::Client(ClientFault::Unauthenticated) => "unauthorized",
            Self::Client(ClientFault::Forbidden) => "forbidden",
            Self::Client(ClientFault::UnknownTenant) => "tenant_not_found",
            Self::Client(ClientFault::NotFound) => "not_found",
            Self::Client(ClientFault::Conflict) => "conflict",
            Self::Client(ClientFault::PreconditionRequired) => "precondition_required",
            Self::Client(ClientFault::PreconditionFailed) => "precondition_failed",
            Self::Client(ClientFault::OverLimit { .. })
            | Self::Upstream { outage: Outage::Throttled, .. } => "rate_limited",
            Self::UserToken(TokenFault::Invalid) => "invalid_token",
            Self::UserToken(TokenFault::Refused(code)) => code,
            Self::VendorB(BFault::Invalid) => "invalid_authorization",
            Self::VendorB(BFault::OtherUser) => "user_mismatch",
            Self::Tenant(TenantFault::Suspended) => "tenant_suspended",
            Self::Tenant(TenantFault::NotConnected) => "tenant_not_connected",
            Self::NotConfigured => "not_configured",
            Self::Tenant(TenantFault::Credential | TenantFault::Endpoint)
            | Self::Upstream { outage: Outage::BadAnswer, .. } => "upstream_error",
            Self::Upstream { outage: Outage::Unavailable, .. } => "upstream_unavailable",
            Self::Upstream { outage: Outage::Timeout, .. } => "upstream_timeout",
            Self::Bug => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Client(ClientFault::Input) => StatusCode::BAD_REQUEST,
            Self::Client(ClientFault::Validation) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Client(ClientFault::Unauthenticated) => StatusCode::UNAUTHORIZED,
            Self::Client(ClientFault::Forbidden) => StatusCode::FORBIDDEN,
            Self::Client(ClientFault::UnknownTenant | ClientFault::NotFound) => StatusCode::NOT_FOUND,
            Self::Client(ClientFault::Conflict) => StatusCode::CONFLICT,
            Self::Client(ClientFault::PreconditionRequired) => StatusCode::PRECONDITION_REQUIRED,
            Self::Client(ClientFault::PreconditionFailed) => StatusCode::PRECONDITION_FAILED,
            Self::Client(ClientFault::OverLimit { .. })
            | Self::Upstream { outage: Outage::Throttled, .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UserToken(TokenFault::Invalid) | Self::VendorB(BFault::Invalid) => StatusCode::UNAUTHORIZED,
            Self::UserToken(TokenFault::Refused(_))
            | Self::VendorB(BFault::OtherUser)
            | Self::Tenant(TenantFault::Suspended | TenantFault::NotConnected) => StatusCode::FORBIDDEN,
            Self::Tenant(TenantFault::Credential | TenantFault::Endpoint)
            | Self::Upstream { outage: Outage::BadAnswer, .. } => StatusCode::BAD_GATEWAY,
            Self::Upstream { outage: Outage::Unavailable, .. } | Self::NotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Upstream { outage: Outage::Timeout, .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Bug => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds the caller should wait before trying again, when waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Client(ClientFault::OverLimit { retry_after }) => Some(*retry_after),
            Self::Upstream { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// An error is logged as one only when someone on our side must act: a bug, or a tenant's
    /// credential that no longer works. Refusals of callers, users and outages are information.
    pub fn log_level(&self) -> Level {
        match self {
            Self::Bug | Self::Tenant(TenantFault::Credential) => Level::ERROR,
            _ => Level::INFO,
        }
    }

    /// The problem to answer with; `detail` is plain words for the caller, never shown for a bug.
    pub fn problem(&self, detail: impl Into<String>) -> Problem {
        if *self == Self::Bug {
            return Problem::internal();
        }
        Problem { retry_after: self.retry_after(), ..Problem::new(self.status(), self.code(), detail) }
    }
}

/// Whole seconds of a wait, rounded up and at least one: `Retry-After: 0` would invite an
/// immediate retry.
pub fn retry_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_reveals_nothing_and_is_logged_as_an_error() {
        let problem = Category::Bug.problem("the database said: password authentication failed");
        assert_eq!(problem.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(problem.detail, "internal error");
        assert_eq!(Category::Bug.log_level(), Level::ERROR);
    }

    #[test]
    fn an_outage_carries_its_retry_after_and_is_not_an_error_in_the_logs() {
        let outage = Category::Upstream { outage: Outage::Unavailable, retry_after: Some(7) };
        let problem = outage.problem("ACS is unavailable");
        assert_eq!(
            (problem.status, problem.code, problem.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable", Some(7))
        );
        assert_eq!(outage.log_level(), Level::INFO);
    }

    #[test]
    fn a_refused_user_token_keeps_the_code_of_its_reason() {
        let refused = Category::UserToken(TokenFault::Refused("teams_license_missing"));
        assert_eq!((refused.status(), refused.code()), (StatusCode::FORBIDDEN, "teams_license_missing"));
        assert_eq!(refused.retry_after(), None);
    }

    #[test]
    fn a_tenant_not_connected_yet_is_refused_like_a_suspended_one_and_missing_settings_are_a_503() {
        let pending = Category::Tenant(TenantFault::NotConnected);
        assert_eq!((pending.status(), pending.code()), (StatusCode::FORBIDDEN, "tenant_not_connected"));
        let unset = Category::NotConfigured.problem("ACSGW_PUBLIC_BASE_URL is not set");
        assert_eq!(
            (unset.status, unset.code, unset.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, "not_configured", None)
        );
    }

    #[test]
    fn waits_are_rounded_up_to_whole_seconds_and_never_zero() {
        assert_eq!(retry_seconds(Duration::ZERO), 1);
        assert_eq!(retry_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_seconds(Duration::from_secs(30)), 30);
    }
}
