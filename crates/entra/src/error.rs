//! Why a token was refused. Each reason maps to one stable API code; the detail says which check
//! failed in plain words and never echoes the token. The refusals every JWT validator shares (form,
//! header, key, signature, issuer, audience, lifetime, claims) take their words and labels from
//! [`jose::Refusal`]; the rest are Entra's own.

use jose::Refusal;

/// jose's refusals, with claims named as Entra's are.
type Shared = Refusal<&'static str>;

/// A refused token, or a validation that could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("{}", Shared::Malformed(*.0))]
    Malformed(&'static str),
    #[error("{}", Shared::Header(*.0))]
    Header(&'static str),
    #[error("{}", Shared::Algorithm)]
    Algorithm,
    #[error("{}", Shared::UnknownKey)]
    UnknownKey,
    #[error("{}", Shared::Key(*.0))]
    Key(&'static str),
    #[error("{}", Shared::Signature)]
    Signature,
    #[error("token version not accepted")]
    Version,
    #[error("{}", Shared::Issuer)]
    Issuer,
    #[error("{}", Shared::Audience)]
    Audience,
    #[error("{}", Shared::Expired)]
    Expired,
    #[error("{}", Shared::NotYetValid)]
    NotYetValid,
    #[error("{}", Shared::LifetimeTooLong)]
    LifetimeTooLong,
    #[error("{}", Shared::MissingClaim(*.0))]
    MissingClaim(&'static str),
    #[error("{}", Shared::BadClaim(*.0))]
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

/// What a rejection says about the token: the one classification its callers answer by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Not a valid token: malformed, signed with a key or algorithm we do not accept, from another
    /// issuer, for another audience, outside its lifetime, or with claims that break Entra's rules.
    Invalid,
    /// A valid token, refused for the stated reason; the stable code says which (`insufficient_scope`,
    /// `user_mismatch`, `app_not_allowed`, `tenant_not_allowed`).
    Refused(&'static str),
    /// Nobody could tell whether the token is good: the signing keys (or the metadata naming them)
    /// could not be fetched. An outage upstream, not a fault of the token.
    Unverifiable,
}

impl Rejection {
    /// Whether the token is invalid, valid and refused, or could not be checked. Every variant is
    /// named, so that a new one must be classified here.
    pub fn kind(&self) -> RejectionKind {
        use RejectionKind::{Invalid, Refused, Unverifiable};
        match self {
            Self::Malformed(_)
            | Self::Header(_)
            | Self::Algorithm
            | Self::UnknownKey
            | Self::Key(_)
            | Self::Signature
            | Self::Version
            | Self::Issuer
            | Self::Audience
            | Self::Expired
            | Self::NotYetValid
            | Self::LifetimeTooLong
            | Self::MissingClaim(_)
            | Self::BadClaim(_) => Invalid,
            Self::Scope | Self::AppOnly => Refused("insufficient_scope"),
            Self::UserMismatch => Refused("user_mismatch"),
            Self::AppMismatch | Self::AppNotAllowed => Refused("app_not_allowed"),
            Self::TenantNotAllowed | Self::ConsumerTenant | Self::GuestAccount => {
                Refused("tenant_not_allowed")
            }
            Self::KeysUnavailable => Unverifiable,
        }
    }

    /// The stable error code of the gateway's API for this rejection.
    pub fn code(&self) -> &'static str {
        match self.kind() {
            RejectionKind::Invalid => "invalid_token",
            RejectionKind::Refused(code) => code,
            RejectionKind::Unverifiable => "upstream_unavailable",
        }
    }

    /// A short, bounded label for logs and metrics: jose's for the refusals it shares, else Entra's.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Version => "version",
            Self::Scope => "scope",
            Self::AppOnly => "app_only",
            Self::UserMismatch => "user_mismatch",
            Self::AppMismatch => "app_mismatch",
            Self::AppNotAllowed => "app_not_allowed",
            Self::TenantNotAllowed => "tenant_not_allowed",
            Self::ConsumerTenant => "consumer_tenant",
            Self::KeysUnavailable => "keys_unavailable",
            Self::GuestAccount => "guest_account",
            Self::Malformed(why) => Shared::Malformed(why).reason(),
            Self::Header(why) => Shared::Header(why).reason(),
            Self::Algorithm => Shared::Algorithm.reason(),
            Self::UnknownKey => Shared::UnknownKey.reason(),
            Self::Key(why) => Shared::Key(why).reason(),
            Self::Signature => Shared::Signature.reason(),
            Self::Issuer => Shared::Issuer.reason(),
            Self::Audience => Shared::Audience.reason(),
            Self::Expired => Shared::Expired.reason(),
            Self::NotYetValid => Shared::NotYetValid.reason(),
            Self::LifetimeTooLong => Shared::LifetimeTooLong.reason(),
            Self::MissingClaim(name) => Shared::MissingClaim(name).reason(),
            Self::BadClaim(name) => Shared::BadClaim(name).reason(),
        }
    }
}

impl From<Shared> for Rejection {
    fn from(refusal: Shared) -> Self {
        match refusal {
            Shared::Malformed(why) => Self::Malformed(why),
            Shared::Header(why) => Self::Header(why),
            Shared::Algorithm => Self::Algorithm,
            Shared::UnknownKey => Self::UnknownKey,
            Shared::Key(why) => Self::Key(why),
            Shared::Signature => Self::Signature,
            Shared::Issuer => Self::Issuer,
            Shared::Audience => Self::Audience,
            Shared::Expired => Self::Expired,
            Shared::NotYetValid => Self::NotYetValid,
            Shared::LifetimeTooLong => Self::LifetimeTooLong,
            Shared::MissingClaim(name) => Self::MissingClaim(name),
            // Entra's rules never ask jose for a claim's value, so a mismatch is a malformed claim.
            Shared::BadClaim(name) | Shared::ClaimMismatch(name) => Self::BadClaim(name),
        }
    }
}

impl From<jose::keys::KeyError> for Rejection {
    fn from(error: jose::keys::KeyError) -> Self {
        match error {
            jose::keys::KeyError::Refused(why) => Self::Key(why),
            jose::keys::KeyError::Unknown => Self::UnknownKey,
            // A key past its TTL is never called unknown: we cannot say the token is bad.
            jose::keys::KeyError::AgedOut | jose::keys::KeyError::Unavailable => Self::KeysUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_refusals_keep_joses_words_and_labels_both_ways() {
        let shared = [
            Shared::Malformed("not three segments"),
            Shared::Header("kid is missing"),
            Shared::Algorithm,
            Shared::Key("RSA key shorter than 2048 bits"),
            Shared::Expired,
            Shared::LifetimeTooLong,
            Shared::MissingClaim("nbf"),
            Shared::BadClaim("exp"),
        ];
        for refusal in shared {
            let rejection = Rejection::from(refusal.clone());
            assert_eq!(rejection.to_string(), refusal.to_string());
            assert_eq!(rejection.reason(), refusal.reason());
            assert_eq!(rejection.code(), "invalid_token");
        }
    }

    #[test]
    fn entras_own_rejections_have_their_own_words_labels_and_codes() {
        assert_eq!(Rejection::GuestAccount.to_string(), "guest accounts are not accepted");
        assert_eq!(Rejection::GuestAccount.reason(), "guest_account");
        assert_eq!(Rejection::GuestAccount.code(), "tenant_not_allowed");
        assert_eq!(Rejection::KeysUnavailable.code(), "upstream_unavailable");
    }

    #[test]
    fn a_token_for_another_audience_is_invalid_not_refused() {
        assert_eq!(Rejection::Audience.kind(), RejectionKind::Invalid);
        assert_eq!(Rejection::Audience.code(), "invalid_token");
    }

    #[test]
    fn an_expired_or_badly_signed_token_is_invalid() {
        for rejection in [Rejection::Expired, Rejection::Signature, Rejection::UnknownKey, Rejection::Version]
        {
            assert_eq!(rejection.kind(), RejectionKind::Invalid, "{rejection:?}");
        }
    }

    #[test]
    fn a_valid_token_without_the_scopes_or_for_an_app_only_is_refused_for_insufficient_scope() {
        assert_eq!(Rejection::Scope.kind(), RejectionKind::Refused("insufficient_scope"));
        assert_eq!(Rejection::AppOnly.kind(), RejectionKind::Refused("insufficient_scope"));
    }

    #[test]
    fn a_guest_or_a_personal_account_is_refused_as_a_tenant_not_allowed() {
        for rejection in [Rejection::GuestAccount, Rejection::ConsumerTenant, Rejection::TenantNotAllowed] {
            assert_eq!(rejection.kind(), RejectionKind::Refused("tenant_not_allowed"), "{rejection:?}");
        }
    }

    #[test]
    fn another_users_or_another_apps_token_is_refused_with_its_own_code() {
        assert_eq!(Rejection::UserMismatch.kind(), RejectionKind::Refused("user_mismatch"));
        assert_eq!(Rejection::AppMismatch.kind(), RejectionKind::Refused("app_not_allowed"));
        assert_eq!(Rejection::AppNotAllowed.kind(), RejectionKind::Refused("app_not_allowed"));
    }

    #[test]
    fn unavailable_or_aged_out_keys_leave_the_token_unverifiable_not_invalid() {
        assert_eq!(Rejection::KeysUnavailable.kind(), RejectionKind::Unverifiable);
        assert_eq!(Rejection::from(jose::keys::KeyError::Unavailable).kind(), RejectionKind::Unverifiable);
        assert_eq!(Rejection::from(jose::keys::KeyError::AgedOut).kind(), RejectionKind::Unverifiable);
        assert_eq!(Rejection::from(jose::keys::KeyError::Unknown).kind(), RejectionKind::Invalid);
    }
}
