//! The `entra` policy: B is an Entra access token for the vendor's own API. Verifying it is the
//! gateway's Entra validator's job (keys from the user's authority, issuer, lifetime, scopes), reached
//! through [`EntraTokenVerifier`] so this crate carries no Entra code; this crate binds the result to
//! A1's user.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{AuthzError, Subject};

/// Verifies an Entra access token; the gateway implements it with the machinery that checks A1.
#[async_trait]
pub trait EntraTokenVerifier: Send + Sync {
    /// Verify `token` as an Entra access token from Entra tenant `tid` with audience `audience` and
    /// every scope in `required_scopes`; return its `oid` and `tid`, or why it failed.
    async fn verify(
        &self,
        token: &str,
        tid: Uuid,
        audience: &str,
        required_scopes: &[String],
    ) -> Result<VerifiedEntraToken, Refusal>;
}

/// The identity a verified Entra token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedEntraToken {
    pub tid: Uuid,
    pub oid: Uuid,
    /// Its `exp`, seconds since the epoch.
    pub expires_at: i64,
}

/// Why the verifier did not accept a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The token failed a check: `detail` names it in plain words without any token content
    /// ("token expired", "audience not accepted"), `reason` is a short label for metrics.
    Invalid { reason: &'static str, detail: String },
    /// The token is valid but for another user or another Entra tenant (e.g. the validator's
    /// `tenant_not_allowed` when it checks `tid` itself): answered `user_mismatch`.
    OtherUser,
    /// Verification could not be completed (keys or metadata unreachable): `upstream_unavailable`.
    Unavailable,
}

pub async fn check(
    verifier: &dyn EntraTokenVerifier,
    audience: &str,
    required_scopes: &[String],
    token: &str,
    subject: &Subject,
) -> Result<i64, AuthzError> {
    let verified = verifier.verify(token, subject.tid, audience, required_scopes).await.map_err(
        |refusal| match refusal {
            Refusal::Invalid { reason, detail } => AuthzError::Refused { reason, detail },
            Refusal::OtherUser => AuthzError::UserMismatch,
            Refusal::Unavailable => AuthzError::KeysUnavailable,
        },
    )?;
    if verified.tid != subject.tid || verified.oid != subject.oid {
        return Err(AuthzError::UserMismatch);
    }
    Ok(verified.expires_at)
}
