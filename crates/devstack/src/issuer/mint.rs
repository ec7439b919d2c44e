//! Minting delegated access tokens on request (`POST /dev/tokens`, [`super::DevIssuer::mint`]):
//! the request shape, its parsing, and the good and deliberately bad ways to sign.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    claims::{self, Lifetime, TokenVersion, UserToken},
    jws::{self, Signature},
    keys::IssuerKey,
    tenant::parse_guid,
};

/// The ACS audience MSAL requests tokens for, as v1 tokens carry it.
pub const DEFAULT_AUDIENCE: &str = "https://auth.msft.communication.azure.com";
/// The same API as v2 tokens carry it: v2 `aud` is always the API's client id
/// (entra-validation.md §1.1).
pub const DEFAULT_V2_AUDIENCE: &str = "1fd5118e-2576-4263-8130-9503064c837a";
/// The delegated scopes the Teams exchange requires.
pub const DEFAULT_SCOPES: [&str; 2] = ["Teams.ManageCalls", "Teams.ManageChats"];
/// Entra's default access-token lifetime is 60–90 minutes; an hour keeps tests predictable.
pub const DEFAULT_LIFETIME_SECONDS: i64 = 3600;

/// What to mint. The JSON body of `POST /dev/tokens` (camelCase members, unknown members refused).
///
/// `tenantId`, `oid` and `appId` must be GUIDs (they are written in lowercase hyphenated form, as
/// Entra does); anything stranger is made with `claims` overrides.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MintRequest {
    pub tenant_id: String,
    pub oid: String,
    pub app_id: String,
    /// Joined with spaces into `scp`; an empty list leaves `scp` out. No scope may contain whitespace.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// `aud`; defaults to [`DEFAULT_AUDIENCE`] for v1 tokens and [`DEFAULT_V2_AUDIENCE`] for v2.
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub version: TokenVersion,
    /// Defaults to [`DEFAULT_LIFETIME_SECONDS`]; negative mints an already expired token.
    #[serde(default)]
    pub lifetime_seconds: Option<i64>,
    /// Claim overrides applied last: each member is set, or removed when `null`.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Header overrides applied last (`kid`, the `alg` label, `jku`, `crit`, ...); `null` removes.
    /// Overriding `alg` changes only the label, never how the token is really signed.
    #[serde(default)]
    pub header: Map<String, Value>,
    #[serde(default)]
    pub signing: Signing,
}

impl MintRequest {
    /// A request for a default v1 token: ACS audience, both Teams scopes, one hour.
    pub fn new(tenant_id: impl Into<String>, oid: impl Into<String>, app_id: impl Into<String>) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            oid: oid.into(),
            app_id: app_id.into(),
            scopes: default_scopes(),
            audience: None,
            version: TokenVersion::default(),
            lifetime_seconds: None,
            claims: Map::new(),
            header: Map::new(),
            signing: Signing::default(),
        }
    }
}

fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.map(str::to_owned).to_vec()
}

/// How the minted token is signed (JSON member `signing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signing {
    /// `"current"` (the default): RS256 with the current published key; the token verifies.
    #[default]
    Current,
    /// `"unknown-key"`: RS256 with a key that was never published, while the header still names the
    /// current published key's `kid`. The token looks right and fails signature verification, the
    /// forged-signature attack. (To test an unknown `kid` instead, override `header.kid`.)
    UnknownKey,
    /// `"none"`: header `alg: "none"` and an empty signature segment, the `alg: none` attack.
    #[serde(rename = "none")]
    Unsigned,
    /// `"weak-key"`: RS256 with a 1024-bit RSA key that the issuer also publishes (from the first
    /// such mint on), under its own `kid`. The signature is genuine; only the key is too short.
    WeakKey,
    /// `"encryption-key"`: RS256 with a 2048-bit key that the issuer publishes with `"use": "enc"`,
    /// under its own `kid`: a key the key set says is not for signatures.
    EncryptionKey,
    /// `"tenant-key"`: RS256 with a 2048-bit key of the token's tenant alone (one per tenant, made on
    /// its first such mint), under its own `kid`, published only in that tenant's own key sets
    /// (`/{tenant}/discovery/...`), never under `organizations` or `common`: a tenant with signing
    /// keys of its own. The token verifies against its tenant's own key set.
    TenantKey,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// A request member is unusable; `field` is its JSON name.
    #[error("`{field}`: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// The extra key a [`Signing`] mode needs (never published, weak, or for encryption) could not
    /// be generated.
    #[error("Failed to prepare the signing key")]
    Key(#[source] anyhow::Error),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MintError {
    MintError::InvalidField { field, reason: reason.into() }
}

fn guid(field: &'static str, value: &str) -> Result<Uuid, MintError> {
    parse_guid(value).ok_or_else(|| invalid(field, format!("'{value}' is not a GUID")))
}

/// Builds the signed token. `current` is the published signing key; `extra_key` produces the key of
/// the other [`Signing`] modes (never published, weak, for encryption, the tenant's own) for the
/// token's tenant, asked for only when needed.
pub fn mint(
    request: &MintRequest,
    now: i64,
    current: &IssuerKey,
    extra_key: impl FnOnce(Signing, Uuid) -> anyhow::Result<Arc<IssuerKey>>,
) -> Result<String, MintError> {
    let tenant = guid("tenantId", &request.tenant_id)?;
    let oid = guid("oid", &request.oid)?;
    let app_id = guid("appId", &request.app_id)?;
    if let Some(scope) = request.scopes.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(invalid("scopes", format!("'{scope}' is empty or contains whitespace")));
    }
    let default_audience = match request.version {
        TokenVersion::V1 => DEFAULT_AUDIENCE,
        TokenVersion::V2 => DEFAULT_V2_AUDIENCE,
    };
    let audience = request.audience.as_deref().unwrap_or(default_audience);
    if audience.trim().is_empty() {
        return Err(invalid("audience", "must not be empty"));
    }
    let lifetime_seconds = request.lifetime_seconds.unwrap_or(DEFAULT_LIFETIME_SECONDS);
    let lifetime = Lifetime::from_now(now, lifetime_seconds)
        .ok_or_else(|| invalid("lifetimeSeconds", format!("{lifetime_seconds} is out of range")))?;

    let token =
        UserToken { tenant, oid, app_id, scopes: &request.scopes, audience, version: request.version };
    let mut claims = claims::user_token(&token, lifetime);
    jws::apply_overrides(&mut claims, &request.claims);

    let mut header = jws::entra_header(current.kid(), request.version == TokenVersion::V1);

    let extra;
    let signature = match request.signing {
        Signing::Current => Signature::Rs256(current),
        Signing::UnknownKey => {
            extra = extra_key(Signing::UnknownKey, tenant).map_err(MintError::Key)?;
            Signature::Rs256(&extra)
        }
        Signing::WeakKey | Signing::EncryptionKey | Signing::TenantKey => {
            extra = extra_key(request.signing, tenant).map_err(MintError::Key)?;
            header.insert("kid".to_owned(), json!(extra.kid()));
            if header.contains_key("x5t") {
                header.insert("x5t".to_owned(), json!(extra.kid()));
            }
            Signature::Rs256(&extra)
        }
        Signing::Unsigned => {
            header.insert("alg".to_owned(), json!("none"));
            Signature::Empty
        }
    };
    jws::apply_overrides(&mut header, &request.header);

    // Identifiers only, never the token itself.
    let kid = header.get("kid").and_then(Value::as_str).unwrap_or_default();
    let uti = claims.get("uti").and_then(Value::as_str).unwrap_or_default();
    tracing::debug!(
        tid = %tenant,
        ver = ?request.version,
        signing = ?request.signing,
        kid,
        uti,
        "Minted a dev access token"
    );
    Ok(jws::encode(&header, &claims, signature))
}
