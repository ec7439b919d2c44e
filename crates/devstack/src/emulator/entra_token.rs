//! RS256 verification of tokens from the dev Entra issuer: signature by `kid`, audience, lifetime.
//! Shared by bearer authentication and A1 validation; the callers check their own claims.

use jsonwebtoken::{Algorithm, Validation, errors::ErrorKind};
use serde::de::DeserializeOwned;

use super::keys::{EntraKeys, KeyError};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 60;

/// Why a token was refused, in words fit for an error message (never the token itself).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenFailure {
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token's header has no kid")]
    MissingKid,
    #[error("the token is not signed with RS256")]
    WrongAlgorithm,
    #[error("the token is not signed by a key of the dev Entra issuer")]
    UnknownKey,
    #[error("the dev Entra issuer's keys could not be fetched")]
    KeysUnavailable,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's audience is not accepted")]
    WrongAudience,
    #[error("the token lacks a required claim or has a malformed one")]
    BadClaims,
}

/// Verifies `token` and decodes its claims as `T`. `exp` and `aud` are required.
pub(crate) async fn verify<T: DeserializeOwned>(
    keys: &EntraKeys,
    token: &str,
    audiences: &[&str],
) -> Result<T, TokenFailure> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenFailure::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(TokenFailure::WrongAlgorithm);
    }
    let kid = header.kid.ok_or(TokenFailure::MissingKid)?;
    let key = keys.key(&kid).await.map_err(|error| match error {
        KeyError::UnknownKid => TokenFailure::UnknownKey,
        KeyError::Unreachable(reason) => {
            tracing::warn!(%reason, "dev Entra issuer keys unavailable");
            TokenFailure::KeysUnavailable
        }
    })?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    jsonwebtoken::decode::<T>(token, &key, &validation).map(|data| data.claims).map_err(|error| {
        match error.kind() {
            ErrorKind::InvalidSignature => TokenFailure::BadSignature,
            ErrorKind::ExpiredSignature => TokenFailure::Expired,
            ErrorKind::ImmatureSignature => TokenFailure::NotYetValid,
            ErrorKind::InvalidAudience => TokenFailure::WrongAudience,
            ErrorKind::InvalidAlgorithm => TokenFailure::WrongAlgorithm,
            ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => TokenFailure::Malformed,
            _ => TokenFailure::BadClaims,
        }
    })
}
