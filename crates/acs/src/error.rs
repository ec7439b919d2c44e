//! What can go wrong talking to ACS, sorted by who is at fault, because that decides what the gateway
//! answers (API.md "Errors"). Messages never contain a token, a key or a secret.

use std::time::Duration;

use serde::Deserialize;

use crate::credential::TokenEndpointError;

/// The longest ACS error message passed on; ACS's own are one short sentence.
const MAX_MESSAGE_CHARS: usize = 300;

/// The outcome of an ACS call that did not produce a token. Each variant documents the answer the
/// gateway's contract gives for it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AcsError {
    /// ACS refused the caller's Entra token (401 `InvalidAccessToken`: invalid, expired or empty).
    /// Gateway: **401 `invalid_token`**.
    #[error("ACS did not accept the Entra access token")]
    InvalidToken,

    /// ACS refused the request itself (400), e.g. `ValidationError` with `target` `appId`/`userId`,
    /// or appId/userId not matching the token. Gateway: **400 `invalid_request`**, naming `target`.
    #[error("ACS refused the request ({code}): {message}")]
    BadRequest { code: String, message: String, target: Option<String> },

    /// ACS throttled us (429) and retrying within the time budget did not help.
    /// Gateway: **429 `rate_limited`** with `Retry-After` when known.
    #[error("ACS is throttling requests for this resource")]
    Throttled { retry_after: Option<Duration> },

    /// ACS refused the user, not the gateway: the user's Teams licence or organisation does not let
    /// them use Teams (a 403 whose code [`UserRefusal`] knows). Not retried, not a credential problem,
    /// and proof that ACS is up. Gateway: **403** with the refusal's own code.
    #[error("ACS refused the user ({})", .0.acs_code())]
    UserRefused(UserRefusal),

    /// ACS refused *our* credential (401 with a code other than `InvalidAccessToken`, or a 403 whose
    /// code is not a [`UserRefusal`]): the tenant's access key, or the bearer identity's role, is
    /// wrong. Not the caller's fault. Gateway: **502 `upstream_error`**, and an operator should look.
    #[error("ACS rejected the gateway's credential for this resource (HTTP {status}{})", fmt_code(code.as_deref()))]
    CredentialRejected { status: u16, code: Option<String> },

    /// ACS could not be reached, or kept answering 5xx, past the retries.
    /// Gateway: **503 `upstream_unavailable`** with `Retry-After` when known.
    #[error("ACS is unavailable")]
    Unavailable { retry_after: Option<Duration> },

    /// ACS did not answer within the attempt or total time budget.
    /// Gateway: **504 `upstream_timeout`**.
    #[error("ACS did not answer in time")]
    Timeout,

    /// The tenant's circuit breaker is open after repeated failures; ACS was not called.
    /// Gateway: **503 `upstream_unavailable`** with `Retry-After: retry_after`.
    #[error("ACS calls for this tenant are paused after repeated failures")]
    CircuitOpen { retry_after: Duration },

    /// ACS answered something the gateway cannot use (unexpected status, unparseable body), or the
    /// tenant's endpoint is unusable. Gateway: **502 `upstream_error`**.
    #[error("unexpected answer from ACS: {0}")]
    Protocol(String),

    /// The bearer credential could not get a token from Entra: our client credentials are wrong or
    /// the token endpoint is down. Gateway: **502 `upstream_error`**.
    #[error(transparent)]
    TokenEndpoint(#[from] TokenEndpointError),
}

impl AcsError {
    /// How long the caller should wait before trying again, when ACS or the breaker said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after } | Self::Unavailable { retry_after } => *retry_after,
            Self::CircuitOpen { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// A stable, low-cardinality name for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::BadRequest { .. } => "bad_request",
            Self::UserRefused(_) => "user_refused",
            Self::Throttled { .. } => "throttled",
            Self::CredentialRejected { .. } => "credential_rejected",
            Self::Unavailable { .. } => "unavailable",
            Self::Timeout => "timeout",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::Protocol(_) => "protocol",
            Self::TokenEndpoint(_) => "token_endpoint",
        }
    }

    /// Whether this outcome says ACS itself is failing, which is what trips the circuit breaker.
    pub(crate) fn is_upstream_failure(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Timeout)
    }
}

/// A refusal by ACS that belongs to the user: their Teams licence or their organisation's Teams
/// settings, which neither the gateway nor the vendor can change. Recognised by ACS's error code on a
/// 401 or 403; every other code there stays [`AcsError::CredentialRejected`]. To recognise another
/// code, add a variant, its code in [`UserRefusal::acs_code`] and the variant to [`UserRefusal::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserRefusal {
    /// `UserLicenseNotPresentForbidden` ("User Login. Teams is disabled in user licenses"): the user
    /// has no Teams licence, or Teams is switched off in it. Documented by Microsoft Learn's Teams
    /// Phone extensibility troubleshooting page.
    TeamsLicenseMissing,
    /// `TeamsDisabledForTenantForbidden`: the user's organisation has Teams turned off for the user's
    /// licence type. Teams' own sign-in answers this code (Microsoft support: "Office 365 user and
    /// service accounts can't sign in to Microsoft Teams"); that ACS passes it on, as it passes on
    /// `UserLicenseNotPresentForbidden` with Teams' own message, is inferred.
    TeamsDisabledForTenant,
}

impl UserRefusal {
    /// Every refusal the client recognises.
    pub const ALL: [Self; 2] = [Self::TeamsLicenseMissing, Self::TeamsDisabledForTenant];

    /// The refusal ACS's `code` names, if it names one (compared exactly, as ACS spells it).
    pub fn from_acs_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|refusal| refusal.acs_code() == code)
    }

    /// ACS's code for this refusal.
    pub fn acs_code(self) -> &'static str {
        match self {
            Self::TeamsLicenseMissing => "UserLicenseNotPresentForbidden",
            Self::TeamsDisabledForTenant => "TeamsDisabledForTenantForbidden",
        }
    }
}

fn fmt_code(code: Option<&str>) -> String {
    code.map(|code| format!(", {code}")).unwrap_or_default()
}

/// ACS's `CommunicationErrorResponse`: `{"error": {"code", "message", "target"?, "details"?, "innererror"?}}`.
#[derive(Debug, Deserialize)]
struct ErrorResponse {
    error: CommunicationError,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CommunicationError {
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub target: Option<String>,
    /// Spelled all lower case on the wire. Logged: it sometimes names the precise cause.
    #[serde(default)]
    pub innererror: Option<Box<CommunicationError>>,
}

/// Parses an ACS error body; `None` when it is absent or not ACS's shape.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<CommunicationError> {
    let mut error = serde_json::from_slice::<ErrorResponse>(body).ok()?.error;
    error.message = truncate(&error.message);
    Some(error)
}

fn truncate(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_body_yields_code_message_and_target() {
        let body = br#"{"error":{"code":"ValidationError","message":"Provided AppId has invalid format.","target":"appId"}}"#;
        let error = parse_error_body(body).unwrap();
        assert_eq!(error.code, "ValidationError");
        assert_eq!(error.message, "Provided AppId has invalid format.");
        assert_eq!(error.target.as_deref(), Some("appId"));
    }

    #[test]
    fn the_lower_case_innererror_key_is_understood() {
        let body = br#"{"error":{"code":"Outer","message":"m","innererror":{"code":"Inner","message":"i"}}}"#;
        assert_eq!(parse_error_body(body).unwrap().innererror.unwrap().code, "Inner");
    }

    #[test]
    fn bodies_that_are_not_acs_errors_are_not_parsed() {
        assert!(parse_error_body(b"").is_none());
        assert!(parse_error_body(b"<html>bad gateway</html>").is_none());
        assert!(parse_error_body(br#"{"message":"no error object"}"#).is_none());
    }

    #[test]
    fn very_long_messages_are_cut() {
        let body = format!(r#"{{"error":{{"code":"X","message":"{}"}}}}"#, "é".repeat(1000));
        assert_eq!(parse_error_body(body.as_bytes()).unwrap().message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn retry_after_is_reported_for_the_kinds_that_carry_it() {
        let wait = Duration::from_secs(7);
        assert_eq!(AcsError::Throttled { retry_after: Some(wait) }.retry_after(), Some(wait));
        assert_eq!(AcsError::CircuitOpen { retry_after: wait }.retry_after(), Some(wait));
        assert_eq!(AcsError::Timeout.retry_after(), None);
    }

    #[test]
    fn every_user_refusal_round_trips_through_its_acs_code() {
        for refusal in UserRefusal::ALL {
            assert_eq!(UserRefusal::from_acs_code(refusal.acs_code()), Some(refusal));
        }
        assert_eq!(
            UserRefusal::from_acs_code("UserLicenseNotPresentForbidden"),
            Some(UserRefusal::TeamsLicenseMissing)
        );
        assert_eq!(UserRefusal::from_acs_code("Forbidden"), None);
        assert_eq!(UserRefusal::from_acs_code("userlicensenotpresentforbidden"), None);
    }

    #[test]
    fn a_user_refusal_names_acs_code_only() {
        let error = AcsError::UserRefused(UserRefusal::TeamsLicenseMissing);
        assert_eq!(error.to_string(), "ACS refused the user (UserLicenseNotPresentForbidden)");
        assert_eq!(error.retry_after(), None);
        assert!(!error.is_upstream_failure());
    }

    #[test]
    fn a_rejected_credential_names_the_status_and_code_only() {
        let error = AcsError::CredentialRejected { status: 403, code: Some("Forbidden".into()) };
        assert_eq!(
            error.to_string(),
            "ACS rejected the gateway's credential for this resource (HTTP 403, Forbidden)"
        );
        let error = AcsError::CredentialRejected { status: 401, code: None };
        assert_eq!(error.to_string(), "ACS rejected the gateway's credential for this resource (HTTP 401)");
    }
}
