//! Why a token was refused, in the terms every JWT validator shares: its form, its header, its key and
//! signature, who issued it and for whom, its lifetime and its claims. The text completes "token …" in
//! plain words and never echoes the token; [`Refusal::reason`] is the short, bounded label that logs
//! and metrics carry. A validator with rules of its own (Entra's versions, scopes and tenants) keeps
//! them in its own type and takes these words and labels from here.

/// A refused token. `N` names a claim: `&'static str` where the validator knows its claims, `String`
/// where a tenant's policy names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal<N = &'static str> {
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
    MissingClaim(N),
    #[error("claim {0} is malformed")]
    BadClaim(N),
    #[error("claim {0} does not have the required value")]
    ClaimMismatch(N),
}

impl<N> Refusal<N> {
    /// A short, bounded label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::Header(_) => "header",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::Key(_) => "key",
            Self::Signature => "signature",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::LifetimeTooLong => "lifetime",
            Self::MissingClaim(_) => "missing_claim",
            Self::BadClaim(_) => "bad_claim",
            Self::ClaimMismatch(_) => "claim_mismatch",
        }
    }

    /// The same refusal with its claim named as `M` (a policy's `String` from a known `&'static str`).
    pub fn naming<M: From<N>>(self) -> Refusal<M> {
        match self {
            Self::Malformed(why) => Refusal::Malformed(why),
            Self::Header(why) => Refusal::Header(why),
            Self::Algorithm => Refusal::Algorithm,
            Self::UnknownKey => Refusal::UnknownKey,
            Self::Key(why) => Refusal::Key(why),
            Self::Signature => Refusal::Signature,
            Self::Issuer => Refusal::Issuer,
            Self::Audience => Refusal::Audience,
            Self::Expired => Refusal::Expired,
            Self::NotYetValid => Refusal::NotYetValid,
            Self::LifetimeTooLong => Refusal::LifetimeTooLong,
            Self::MissingClaim(name) => Refusal::MissingClaim(name.into()),
            Self::BadClaim(name) => Refusal::BadClaim(name.into()),
            Self::ClaimMismatch(name) => Refusal::ClaimMismatch(name.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_complete_a_sentence_and_name_the_claim_but_nothing_from_the_token() {
        assert_eq!(
            Refusal::<&str>::Malformed("not three segments").to_string(),
            "token is malformed: not three segments"
        );
        assert_eq!(Refusal::MissingClaim("exp").to_string(), "token lacks claim exp");
        assert_eq!(
            Refusal::ClaimMismatch("role".to_owned()).to_string(),
            "claim role does not have the required value"
        );
        assert_eq!(Refusal::<&str>::LifetimeTooLong.to_string(), "token lifetime too long");
    }

    #[test]
    fn reasons_are_short_labels_whatever_the_details() {
        assert_eq!(Refusal::<&str>::Header("kid is missing").reason(), "header");
        assert_eq!(Refusal::<&str>::Header("typ must be JWT").reason(), "header");
        assert_eq!(Refusal::BadClaim("a-claim".to_owned()).reason(), "bad_claim");
        assert_eq!(Refusal::<&str>::LifetimeTooLong.reason(), "lifetime");
    }

    #[test]
    fn renaming_the_claim_keeps_the_refusal() {
        let named: Refusal<String> = Refusal::MissingClaim("exp").naming();
        assert_eq!(named, Refusal::MissingClaim("exp".to_owned()));
        assert_eq!(Refusal::<&str>::Expired.naming::<String>(), Refusal::Expired);
    }
}
