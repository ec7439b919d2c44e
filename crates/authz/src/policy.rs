//! What the gateway hands this crate: the tenant's policy with its secrets opened, and the user that
//! A1 proved. These are small types of their own so this crate never depends on the registry.

use std::{collections::BTreeMap, time::Duration};

use secrecy::SecretSlice;
use url::Url;
use uuid::Uuid;

/// The claim a `jwt` policy binds to A1's `oid` when the tenant names none.
pub const DEFAULT_USER_CLAIM: &str = "oid";

/// One tenant's policy for B.
#[derive(Debug, Clone)]
pub enum Policy {
    /// B is an Entra access token for the vendor's API, from the user's own Entra tenant.
    Entra { audience: String, required_scopes: Vec<String> },
    /// B is a JWT from the vendor's own issuer.
    Jwt {
        /// Compared exactly with `iss`.
        issuer: String,
        /// Must be `aud`, or one of the strings of an `aud` array.
        audience: String,
        key: JwtKey,
        /// The claim holding the user's Entra object id; empty means [`DEFAULT_USER_CLAIM`].
        user_claim: String,
        /// Each claim must be this string, or an array containing it.
        required_claims: BTreeMap<String, String>,
    },
    /// The vendor's service decides; see the crate documentation for the contract.
    Webhook {
        url: Url,
        secret: SecretSlice<u8>,
        /// For the whole call: connect, request and answer.
        timeout: Duration,
        /// How long an answer (allow or deny) is reused; zero asks every time.
        cache_for: Duration,
    },
    /// An explicit opt-out: B is neither required nor looked at.
    None,
}

/// Where a `jwt` policy's verification key comes from; it also fixes the one accepted algorithm.
#[derive(Debug, Clone)]
pub enum JwtKey {
    /// RS256 only, RSA keys of at least 2048 bits chosen by `kid`.
    JwksUri(Url),
    /// HS256 only, with this shared secret.
    Hs256(SecretSlice<u8>),
}

/// The user A1 proved, as the gateway knows it after validating A1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    /// The SaaS tenant's slug.
    pub tenant: String,
    /// The user's Entra tenant.
    pub tid: Uuid,
    /// The user's Entra object id.
    pub oid: Uuid,
    /// The client app A1 was issued to.
    pub app_id: Uuid,
}

/// A bounded label for a policy, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    Entra,
    Jwt,
    Webhook,
    None,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entra => "entra",
            Self::Jwt => "jwt",
            Self::Webhook => "webhook",
            Self::None => "none",
        }
    }
}

impl Policy {
    pub fn kind(&self) -> PolicyKind {
        match self {
            Self::Entra { .. } => PolicyKind::Entra,
            Self::Jwt { .. } => PolicyKind::Jwt,
            Self::Webhook { .. } => PolicyKind::Webhook,
            Self::None => PolicyKind::None,
        }
    }
}
