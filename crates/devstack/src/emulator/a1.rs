//! Validation of the Entra token (A1) inside an exchange request, as ACS does it: a delegated
//! token of the dev issuer for ACS's first-party app, with both Teams scopes, issued to `appId`
//! for the user `userId`.

use serde::Deserialize;
use uuid::Uuid;

use super::{
    entra_token::{self, TokenFailure},
    error::AcsError,
    keys::EntraKeys,
};

/// ACS's first-party app, by service principal name and by app id; v1 tokens carry either.
const A1_AUDIENCES: [&str; 2] =
    ["https://auth.msft.communication.azure.com", "1fd5118e-2576-4263-8130-9503064c837a"];
const REQUIRED_SCOPES: [&str; 2] = ["Teams.ManageCalls", "Teams.ManageChats"];

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    ver: Option<String>,
    scp: Option<String>,
    idtyp: Option<String>,
    appid: Option<String>,
    azp: Option<String>,
    oid: Option<String>,
}

/// The user an accepted A1 speaks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TeamsUser {
    pub(crate) oid: Uuid,
    /// A1's `exp`, which the exchanged token inherits.
    pub(crate) expires_at: i64,
}

/// The claimed ids, already parsed; `None` only for the early previews that did not send them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimedIds {
    pub(crate) app_id: Option<Uuid>,
    pub(crate) user_id: Option<Uuid>,
}

/// 401 `InvalidAccessToken` for any fault in the token itself; 400 `ValidationError` when a valid
/// token belongs to another app or user than the request claims; 503 when the dev issuer's keys
/// cannot be fetched, since then nothing can be said about the token.
pub(crate) async fn validate(
    keys: &EntraKeys,
    token: &str,
    claimed: ClaimedIds,
) -> Result<TeamsUser, AcsError> {
    let (user, app_id) = check_token(keys, token).await.map_err(|refusal| match refusal {
        Refusal::KeysUnavailable => AcsError::keys_unavailable(),
        Refusal::Invalid(reason) => {
            tracing::debug!(reason, "A1 refused");
            AcsError::invalid_access_token()
        }
    })?;
    if claimed.app_id.is_some_and(|claimed| claimed != app_id) {
        return Err(AcsError::validation(
            "appId",
            "Provided AppId doesn't match the appid claim of the token.",
        ));
    }
    if claimed.user_id.is_some_and(|claimed| claimed != user.oid) {
        return Err(AcsError::validation(
            "userId",
            "Provided UserId doesn't match the oid claim of the token.",
        ));
    }
    Ok(user)
}

enum Refusal {
    Invalid(String),
    KeysUnavailable,
}

impl From<&str> for Refusal {
    fn from(reason: &str) -> Self {
        Self::Invalid(reason.to_owned())
    }
}

/// The token's user and client app, or why the token is not acceptable.
async fn check_token(keys: &EntraKeys, token: &str) -> Result<(TeamsUser, Uuid), Refusal> {
    if token.is_empty() {
        return Err("empty token".into());
    }
    let claims: Claims =
        entra_token::verify(keys, token, &A1_AUDIENCES).await.map_err(|failure| match failure {
            TokenFailure::KeysUnavailable => Refusal::KeysUnavailable,
            other => Refusal::Invalid(other.to_string()),
        })?;
    if claims.idtyp.as_deref() == Some("app") {
        return Err("app-only token".into());
    }
    let scopes: Vec<&str> = claims.scp.as_deref().unwrap_or_default().split(' ').collect();
    if let Some(missing) = REQUIRED_SCOPES.iter().find(|scope| !scopes.contains(scope)) {
        return Err(Refusal::Invalid(format!("scope {missing} missing (or an app-only token)")));
    }
    let app = match claims.ver.as_deref() {
        Some("1.0") => claims.appid,
        Some("2.0") => claims.azp,
        _ => claims.appid.or(claims.azp),
    };
    let app_id = app.as_deref().and_then(|app| Uuid::parse_str(app).ok()).ok_or("no GUID appid/azp claim")?;
    let oid = claims.oid.as_deref().and_then(|oid| Uuid::parse_str(oid).ok()).ok_or("no GUID oid claim")?;
    Ok((TeamsUser { oid, expires_at: claims.exp }, app_id))
}
