//! What an invitation is: its secret token (in the link only; the registry keeps its SHA-256), its
//! state, and how long it may live.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::{DisplayName, EntraTenantId, InvalidValue, TenantId, TenantSlug};

/// Random bytes in a token: 256 bits, so guessing one is hopeless and a fast hash is enough.
const TOKEN_BYTES: usize = 32;
/// Their base64url length, without padding.
const TOKEN_CHARS: usize = 43;

/// The secret in an invitation's link: shown once, in the link; only its [`TokenHash`] is stored.
pub struct InvitationToken(SecretString);

impl InvitationToken {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token, for the link (43 characters of `[A-Za-z0-9_-]`, safe in a URL path as it is).
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.expose_secret().as_bytes()).into())
    }
}

/// The SHA-256 of a token: the only form in which tokens are stored or looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a token someone presented, when it has a token's shape; anything else names no
    /// invitation, and is not looked up.
    pub fn of_presented(presented: &str) -> Option<Self> {
        let shaped = presented.len() == TOKEN_CHARS
            && presented.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        shaped.then(|| Self(Sha256::digest(presented.as_bytes()).into()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Where an invitation stands. `Expired` is never stored: an open invitation (pending, or after a
/// failed attempt) whose `expires_at` has passed reads as expired, by Postgres' clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    /// Not used yet.
    Pending,
    /// The customer's admin declined (or cancelled) consent; the link may be used again.
    ConsentDenied,
    /// Consent was given, but ACS's service principal is missing from the customer's tenant; the
    /// link may be used again once an admin has created it.
    ServicePrincipalMissing,
    /// Used: the tenant is connected. Final.
    Connected,
    Expired,
    /// Withdrawn by the vendor. Final.
    Revoked,
}

impl InvitationState {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "pending" => Self::Pending,
            "consent_denied" => Self::ConsentDenied,
            "service_principal_missing" => Self::ServicePrincipalMissing,
            "connected" => Self::Connected,
            "expired" => Self::Expired,
            "revoked" => Self::Revoked,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::ConsentDenied => "consent_denied",
            Self::ServicePrincipalMissing => "service_principal_missing",
            Self::Connected => "connected",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// Whether the link may still be used to connect the tenant.
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Pending | Self::ConsentDenied | Self::ServicePrincipalMissing)
    }
}

/// The customer's admin who connected the tenant: their object id and, when Entra gave one, their
/// display name. Never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAdmin {
    pub oid: Uuid,
    pub name: Option<String>,
}

/// An invitation as stored, its state as of the reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub tenant_slug: TenantSlug,
    pub state: InvitationState,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Who created it: the admin key's name, as in audit events.
    pub created_by: String,
    pub consumed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub connected_tid: Option<EntraTenantId>,
    pub connected_by: Option<ConnectedAdmin>,
    /// What the last failed attempt found, in plain words.
    pub last_error: Option<String>,
}

/// An invitation found by its token, with what its page shows of the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    pub invitation: Invitation,
    pub tenant_display_name: DisplayName,
}

/// How long an invitation lives when its creator does not say.
pub fn default_lifetime() -> TimeDelta {
    TimeDelta::days(7)
}

/// The longest an invitation may live: a link in an inbox is a credential.
pub fn max_lifetime() -> TimeDelta {
    TimeDelta::days(30)
}

/// When an invitation created `now` expires: `requested`, or in [`default_lifetime`]; it must be in
/// the future and at most [`max_lifetime`] away.
pub fn expiry(requested: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>, InvalidValue> {
    match requested {
        None => Ok(now + default_lifetime()),
        Some(at) if at <= now => Err(InvalidValue::new("must be in the future")),
        Some(at) if at > now + max_lifetime() => Err(InvalidValue::new("must be at most 30 days from now")),
        Some(at) => Ok(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_43_url_safe_characters_and_only_that_shape_is_looked_up() {
        let token = InvitationToken::generate();
        assert_eq!(token.expose_secret().len(), TOKEN_CHARS);
        assert_eq!(TokenHash::of_presented(token.expose_secret()), Some(token.hash()));
        assert_ne!(InvitationToken::generate().hash(), token.hash());
        for bad in ["", "short", &"a".repeat(44), &format!("{}%", &"a".repeat(42)), &"é".repeat(21)] {
            assert_eq!(TokenHash::of_presented(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_invitation_lives_seven_days_by_default_and_thirty_at_most() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(expiry(None, now), Ok(now + TimeDelta::days(7)));
        assert_eq!(expiry(Some(now + TimeDelta::days(30)), now), Ok(now + TimeDelta::days(30)));
        assert!(expiry(Some(now + TimeDelta::days(30) + TimeDelta::seconds(1)), now).is_err());
        assert!(expiry(Some(now), now).is_err());
    }

    #[test]
    fn only_pending_and_failed_invitations_are_open() {
        let open: Vec<_> =
            ["pending", "consent_denied", "service_principal_missing", "connected", "expired", "revoked"]
                .into_iter()
                .map(|name| InvitationState::parse(name).unwrap())
                .inspect(|state| assert!(InvitationState::parse(state.as_str()) == Some(*state)))
                .filter(InvitationState::is_open)
                .collect();
        assert_eq!(
            open,
            [
                InvitationState::Pending,
                InvitationState::ConsentDenied,
                InvitationState::ServicePrincipalMissing
            ]
        );
    }
}
