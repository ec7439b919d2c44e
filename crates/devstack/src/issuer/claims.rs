//! The claim sets Entra puts into access tokens (entra-validation.md §1.1), before any overrides.
//!
//! Values that are opaque in real tokens (`sub`, `uti`, `aio`, `rh`) get the same shape here, so
//! nothing downstream can accidentally depend on a dev-only simplification such as `sub == oid`.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::{
    directory::TestUser,
    tenant::{v1_issuer, v2_issuer},
};

/// `nbf` lies this far before issuance, as in real Entra tokens (clock-skew allowance).
const NOT_BEFORE_SKEW_SECONDS: i64 = 5 * 60;

/// Which token format to produce: Entra's v1.0 or v2.0 access tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TokenVersion {
    /// `iss https://sts.windows.net/{tid}/`, `appid`/`appidacr`, header `x5t`; what ACS receives.
    #[default]
    #[serde(rename = "1.0")]
    V1,
    /// `iss https://login.microsoftonline.com/{tid}/v2.0`, `azp`/`azpacr`, no header `x5t`.
    #[serde(rename = "2.0")]
    V2,
}

/// A delegated (user + app) token's inputs, already parsed.
pub struct UserToken<'a> {
    pub tenant: Uuid,
    pub oid: Uuid,
    pub app_id: Uuid,
    pub scopes: &'a [String],
    pub audience: &'a str,
    pub version: TokenVersion,
}

/// The token's time window: `iat`, `nbf` and `exp` in Unix seconds.
#[derive(Clone, Copy)]
pub struct Lifetime {
    pub issued_at: i64,
    pub expires: i64,
}

impl Lifetime {
    /// A token issued now that lives `seconds`. A negative lifetime makes a token that expired
    /// `-seconds` ago and was issued an hour before that, so it is expired, not malformed
    /// (`nbf` stays before `exp`).
    pub fn from_now(now: i64, seconds: i64) -> Option<Self> {
        let expires = now.checked_add(seconds)?;
        let issued_at = if seconds >= 0 { now } else { expires.checked_sub(3600)? };
        Some(Self { issued_at, expires })
    }
}

/// The claims of a delegated access token, like the ones MSAL obtains for the ACS audience.
pub fn user_token(token: &UserToken<'_>, lifetime: Lifetime) -> Map<String, Value> {
    let tid = token.tenant.to_string();
    let oid = token.oid.to_string();
    let app_id = token.app_id.to_string();
    let short = &oid[..8];
    let upn = format!("user-{short}@dev-{}.onmicrosoft.com", &tid[..8]);

    let mut claims = common(&tid, token.audience, lifetime);
    let mut set = |name: &str, value: Value| claims.insert(name.to_owned(), value);
    set("oid", json!(oid));
    set("sub", json!(pairwise_subject(&tid, &oid, &app_id)));
    set("idtyp", json!("user"));
    set("name", json!(format!("Dev User {short}")));
    if !token.scopes.is_empty() {
        set("scp", json!(token.scopes.join(" ")));
    }
    match token.version {
        TokenVersion::V1 => {
            set("iss", json!(v1_issuer(&tid)));
            set("ver", json!("1.0"));
            set("appid", json!(app_id));
            set("appidacr", json!("0"));
            set("acr", json!("1"));
            set("amr", json!(["pwd"]));
            set("unique_name", json!(upn));
            set("upn", json!(upn));
        }
        TokenVersion::V2 => {
            set("iss", json!(v2_issuer(&tid)));
            set("ver", json!("2.0"));
            set("azp", json!(app_id));
            set("azpacr", json!("0"));
            set("preferred_username", json!(upn));
        }
    }
    claims
}

/// The claims of a v2 id token for `client_id` (the authorization-code grant with `openid`):
/// Entra's v2 issuer, the client as audience, the user's names, and the request's `nonce`.
pub fn id_token(
    user: &TestUser,
    client_id: Uuid,
    nonce: Option<&str>,
    lifetime: Lifetime,
) -> Map<String, Value> {
    let tid = user.tenant.to_string();
    let oid = user.oid.to_string();
    let mut claims = Map::new();
    let mut set = |name: &str, value: Value| claims.insert(name.to_owned(), value);
    set("aud", json!(client_id.to_string()));
    set("iss", json!(v2_issuer(&tid)));
    set("iat", json!(lifetime.issued_at));
    set("nbf", json!(lifetime.issued_at));
    set("exp", json!(lifetime.expires));
    set("aio", json!(random_base64url(48)));
    set("name", json!(user.name));
    set("oid", json!(oid));
    set("preferred_username", json!(user.username));
    set("rh", json!(format!("0.{}.", random_base64url(30))));
    set("sub", json!(pairwise_subject(&tid, &oid, &client_id.to_string())));
    set("tid", json!(tid));
    set("uti", json!(random_base64url(16)));
    set("ver", json!("2.0"));
    if let Some(nonce) = nonce {
        set("nonce", json!(nonce));
    }
    claims
}

/// The claims of an app-only v1 token from the client-credentials grant: `idtyp app`, `appidacr 1`
/// (client secret), no `scp` and no `roles` (the app holds no application permissions).
pub fn app_token(tenant: Uuid, client_id: Uuid, audience: &str, lifetime: Lifetime) -> Map<String, Value> {
    let tid = tenant.to_string();
    let principal = service_principal_id(tenant, client_id).to_string();
    let mut claims = common(&tid, audience, lifetime);
    let mut set = |name: &str, value: Value| claims.insert(name.to_owned(), value);
    set("iss", json!(v1_issuer(&tid)));
    set("idp", json!(v1_issuer(&tid)));
    set("ver", json!("1.0"));
    set("appid", json!(client_id.to_string()));
    set("appidacr", json!("1"));
    set("idtyp", json!("app"));
    // Entra's app-only tokens carry the service principal's object id as both `oid` and `sub`.
    set("oid", json!(principal));
    set("sub", json!(principal));
    claims
}

/// A stable object id for the service principal of `client_id` in `tenant`: the same on every run
/// and for every issuer instance, different per tenant (as service principals are).
pub fn service_principal_id(tenant: Uuid, client_id: Uuid) -> Uuid {
    let digest = Sha1::new()
        .chain_update(b"acs-devstack service principal")
        .chain_update(tenant.as_bytes())
        .chain_update(client_id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// Claims every Entra access token has.
fn common(tid: &str, audience: &str, lifetime: Lifetime) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("aud".to_owned(), json!(audience));
    claims.insert("tid".to_owned(), json!(tid));
    claims.insert("iat".to_owned(), json!(lifetime.issued_at));
    claims.insert("nbf".to_owned(), json!(lifetime.issued_at - NOT_BEFORE_SKEW_SECONDS));
    claims.insert("exp".to_owned(), json!(lifetime.expires));
    claims.insert("uti".to_owned(), json!(random_base64url(16)));
    claims.insert("aio".to_owned(), json!(random_base64url(48)));
    claims.insert("rh".to_owned(), json!(format!("0.{}.", random_base64url(30))));
    claims
}

/// A pairwise subject like Entra's: opaque, 43 base64url characters, stable for one user and app,
/// different per app (so it never equals `oid`).
fn pairwise_subject(tid: &str, oid: &str, app_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(tid)
        .chain_update(b"/")
        .chain_update(oid)
        .chain_update(b"/")
        .chain_update(app_id)
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

fn random_base64url(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
