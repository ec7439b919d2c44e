//! Why B was not accepted. Each variant maps to one stable code of the gateway's API (documented on
//! the variant); `Display` is the problem's `detail` in plain words and never contains a token, a
//! secret, a claim value or a URL.

use jose::keys::KeyError;

/// A refused or undecidable authorization.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// `invalid_authorization` (401): the policy needs B and the request carries none.
    #[error("authorization token missing")]
    Missing,
    /// `invalid_authorization` (401): B failed one of this crate's checks, named by [`Check`].
    #[error("authorization {0}")]
    Invalid(#[from] Check),
    /// `invalid_authorization` (401): the gateway's Entra verifier refused B; `detail` is its words
    /// ("token expired"), `reason` its label.
    #[error("authorization {detail}")]
    Refused { reason: &'static str, detail: String },
    /// `user_mismatch` (403): B is valid but belongs to another user or Entra tenant than A1.
    #[error("authorization token belongs to another user")]
    UserMismatch,
    /// `invalid_authorization` (401): the tenant's webhook answered `{"allow": false}`.
    #[error("denied by the tenant's authorization service")]
    Denied,
    /// `upstream_unavailable` (503): the webhook could not give an answer; we fail closed.
    #[error("authorization service unavailable")]
    ServiceUnavailable(ServiceFailure),
    /// `upstream_unavailable` (503): no usable key to check B with (key set unreachable and no
    /// last-known-good key, or the Entra verifier could not reach its keys).
    #[error("authorization signing keys unavailable")]
    KeysUnavailable,
}

/// The check of B that failed: jose's refusal, with claims named by the tenant's policy. The text
/// completes "authorization …"; [`reason`](jose::Refusal::reason) is its label.
pub type Check = jose::Refusal<String>;

/// Why the webhook gave no answer; kept for logs, never shown to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceFailure {
    /// Connection refused, TLS or DNS failure, a broken answer stream.
    Unreachable,
    /// No complete answer within the policy's timeout.
    Timeout,
    /// Any status but 200 (redirects are not followed).
    Status(u16),
    /// 200, but not `{"allow": <bool>}`, or too large.
    Malformed,
}

impl AuthzError {
    /// The stable error code of the gateway's API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing | Self::Invalid(_) | Self::Refused { .. } | Self::Denied => "invalid_authorization",
            Self::UserMismatch => "user_mismatch",
            Self::ServiceUnavailable(_) | Self::KeysUnavailable => "upstream_unavailable",
        }
    }

    /// The HTTP status that goes with [`code`](Self::code).
    pub fn status(&self) -> u16 {
        match self {
            Self::Missing | Self::Invalid(_) | Self::Refused { .. } | Self::Denied => 401,
            Self::UserMismatch => 403,
            Self::ServiceUnavailable(_) | Self::KeysUnavailable => 503,
        }
    }

    /// A short, bounded label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid(check) => check.reason(),
            Self::Refused { reason, .. } => reason,
            Self::UserMismatch => "user_mismatch",
            Self::Denied => "denied",
            Self::ServiceUnavailable(failure) => failure.reason(),
            Self::KeysUnavailable => "keys_unavailable",
        }
    }
}

impl From<KeyError> for AuthzError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Refused(why) => Check::Key(why).into(),
            // The set was read within the cool-down and no longer lists the key.
            KeyError::Unknown | KeyError::AgedOut => Check::UnknownKey.into(),
            KeyError::Unavailable => Self::KeysUnavailable,
        }
    }
}

impl ServiceFailure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Unreachable => "webhook_unreachable",
            Self::Timeout => "webhook_timeout",
            Self::Status(_) => "webhook_status",
            Self::Malformed => "webhook_malformed",
        }
    }
}
