//! The ACS access tokens the emulator issues, with the claims of reference section 5.
//!
//! Real ACS signs with RS256; the emulator uses HS256 under a random per-process secret so that
//! issuing is never what limits a benchmark. Clients treat the token as opaque and read only `exp`.

use chrono::{DateTime, Utc};
use jsonwebtoken::{EncodingKey, Header};
use serde::Serialize;
use uuid::Uuid;

use super::error::AcsError;

/// The `scp` value seen in real ACS tokens.
const SCP: u32 = 1792;
const RESOURCE_LOCATION: &str = "unitedstates";
const REGION: &str = "amer";
/// The scopes an exchanged Teams user token carries.
const TEAMS_USER_SCOPES: &str = "chat,voip";

/// `CommunicationIdentityAccessToken` on the wire.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssuedToken {
    pub(crate) token: String,
    pub(crate) expires_on: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Claims<'a> {
    skypeid: String,
    scp: u32,
    csi: String,
    iat: i64,
    exp: i64,
    rgn: &'a str,
    acs_scope: &'a str,
    resource_id: String,
    resource_location: &'a str,
}

pub(crate) struct AcsTokenSigner {
    key: EncodingKey,
    header: Header,
    resource_id: Uuid,
}

impl AcsTokenSigner {
    pub(crate) fn new(resource_id: Uuid) -> Self {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("acs-emulator".to_owned());
        Self { key: EncodingKey::from_secret(&rand::random::<[u8; 32]>()), header, resource_id }
    }

    /// The token for a Teams user, expiring when their Entra token does.
    pub(crate) fn teams_user(&self, oid: Uuid, expires_at: i64) -> Result<IssuedToken, AcsError> {
        self.issue(format!("orgid:{oid}"), TEAMS_USER_SCOPES, expires_at)
    }

    /// The token for a communication identity (`identity` is the guid after `<resource>_`).
    pub(crate) fn identity(
        &self,
        identity: Uuid,
        scopes: &[String],
        minutes: u32,
    ) -> Result<IssuedToken, AcsError> {
        let expires_at = Utc::now().timestamp() + i64::from(minutes) * 60;
        self.issue(format!("acs:{}_{identity}", self.resource_id), &scopes.join(","), expires_at)
    }

    fn issue(&self, skypeid: String, acs_scope: &str, expires_at: i64) -> Result<IssuedToken, AcsError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            skypeid,
            scp: SCP,
            csi: now.to_string(),
            iat: now,
            exp: expires_at,
            rgn: REGION,
            acs_scope,
            resource_id: self.resource_id.to_string(),
            resource_location: RESOURCE_LOCATION,
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.key).map_err(|error| {
            tracing::error!(%error, "cannot sign an ACS token");
            AcsError::unexpected()
        })?;
        Ok(IssuedToken { token, expires_on: expires_on(expires_at)? })
    }
}

/// Formats like the service: `2025-07-10T21:39:39.0000000+00:00` (7 fractional digits).
pub(crate) fn expires_on(unix_seconds: i64) -> Result<String, AcsError> {
    let at = DateTime::<Utc>::from_timestamp(unix_seconds, 0).ok_or_else(AcsError::unexpected)?;
    Ok(format!("{}.{:07}+00:00", at.format("%Y-%m-%dT%H:%M:%S"), at.timestamp_subsec_nanos() / 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_on_has_seven_fractional_digits_and_a_utc_offset() {
        assert_eq!(expires_on(1_752_183_579).unwrap(), "2025-07-10T21:39:39.0000000+00:00");
    }

    #[test]
    fn teams_user_tokens_carry_the_users_skype_id_and_the_given_expiry() {
        let resource = Uuid::new_v4();
        let oid = Uuid::new_v4();
        let issued = AcsTokenSigner::new(resource).teams_user(oid, 1_900_000_000).unwrap();
        let claims = payload(&issued.token);
        assert_eq!(claims["skypeid"], format!("orgid:{oid}"));
        assert_eq!(claims["exp"], 1_900_000_000);
        assert_eq!(claims["scp"], 1792);
        assert_eq!(claims["resourceId"], resource.to_string());
        assert!(claims["csi"].is_string() && claims["acsScope"].is_string() && claims["iat"].is_i64());
    }

    #[test]
    fn identity_tokens_carry_the_identity_and_its_scopes() {
        let resource = Uuid::new_v4();
        let identity = Uuid::new_v4();
        let signer = AcsTokenSigner::new(resource);
        let issued = signer.identity(identity, &["chat".to_owned(), "voip".to_owned()], 60).unwrap();
        let claims = payload(&issued.token);
        assert_eq!(claims["skypeid"], format!("acs:{resource}_{identity}"));
        assert_eq!(claims["acsScope"], "chat,voip");
        let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!((3590..=3610).contains(&lifetime), "{lifetime}");
    }

    fn payload(token: &str) -> serde_json::Value {
        use base64::Engine as _;
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}
