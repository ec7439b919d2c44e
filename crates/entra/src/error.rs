//! Why a token was refused. Each reason maps to one stable API code; the detail says which check
//! failed in plain words and never echoes the token.

/// A refused token, or a validation that could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("token is malformed: {0}")]
    Malformed(&'static str),
    #[error("token header not accepted: {0}")]
    Header(&'static str),
    #[error("signing algorithm not accepted")]
    Algorithm,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("signing key not accepted: {0}")]
    Key(&'static str),
    #[error("token signature is invalid")]
    Signature,
    #[error("token version not accepted")]
    Version,
    #[error("issuer not accepted")]
    Issuer,
    #[error("audience not accepted")]
    Audience,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token lifetime too long")]
    LifetimeTooLong,
    #[error("token lacks claim {0}")]
    MissingClaim(&'static str),
    #[error("claim {0} is malformed")]
    BadClaim(&'static str),
    #[error("token lacks a required scope")]
    Scope,
    #[error("app-only tokens are not accepted")]
    AppOnly,
    #[error("token belongs to another user")]
    UserMismatch,
    #[error("token was issued to another app")]
    AppMismatch,
    #[error("app is not allowed for this tenant")]
    AppNotAllowed,
    #[error("Entra tenant is not allowed")]
    TenantNotAllowed,
    #[error("Microsoft personal accounts are not accepted")]
    ConsumerTenant,
    #[error("signing keys are unavailable")]
    KeysUnavailable,
    /// The user signed in elsewhere (`idp` is not `iss`): a guest from another tenant or a Microsoft
    /// account. Added last, so existing variants keep their place.
    #[error("guest accounts are not accepted")]
    GuestAccount,
}

impl Rejection {
    /// The stable error code of the gateway's API for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Scope | Self::AppOnly => "insufficient_scope",
            Self::UserMismatch => "user_mismatch",
            Self::AppMismatch | Self::AppNotAllowed => "app_not_allowed",
            Self::TenantNotAllowed | Self::ConsumerTenant | Self::GuestAccount => "tenant_not_allowed",
            Self::KeysUnavailable => "upstream_unavailable",
            _ => "invalid_token",
        }
    }

    /// A short, bounded label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Header(_) => "header",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Key(_) => "key",
            Self::Signature => "signature",
            Self::Version => "version",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::LifetimeTooLong => "lifetime",
            Self::MissingClaim(_) => "missing_claim",
            Self::BadClaim(_) => "bad_claim",
            Self::Scope => "scope",
            Self::AppOnly => "app_only",
            Self::UserMismatch => "user_mismatch",
            Self::AppMismatch => "app_mismatch",
            Self::AppNotAllowed => "app_not_allowed",
            Self::TenantNotAllowed => "tenant_not_allowed",
            Self::ConsumerTenant => "consumer_tenant",
            Self::KeysUnavailable => "keys_unavailable",
            Self::GuestAccount => "guest_account",
        }
    }
}
