//! The `jwt` policy: the algorithm comes from the policy's key (RS256 for a key-set URL, HS256 for a
//! shared secret) and never from the token, so neither `alg: none` nor an HMAC made with a public key
//! can pass. Signature first, then the claim rules, then the user binding.

use std::{collections::BTreeMap, time::Duration};

use hmac::{Hmac, Mac};
use jose::{header::required_kid, keys::KeySetId};
use jsonwebtoken::Algorithm;
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;
use url::Url;

use crate::{
    AuthzError, Check, DEFAULT_USER_CLAIM, JwtKey, Subject, claims,
    jws::{self, Jws, decode_segment},
};

/// The signing keys of `jwt` policies, one set per tenant and key-set URL: one tenant's flood of
/// unknown kids never spends another tenant's fetches, and a tenant's sets can be forgotten.
pub type KeyStore = jose::keys::KeyStore<TenantKeySet>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantKeySet {
    pub tenant: String,
    pub url: Url,
}

impl KeySetId for TenantKeySet {
    fn url(&self) -> &Url {
        &self.url
    }
}

/// RFC 7518 section 3.2: an HS256 key must be at least as long as the hash.
const MIN_HS256_SECRET_BYTES: usize = 32;

/// One tenant's `jwt` policy, borrowed from [`Policy::Jwt`](crate::Policy::Jwt).
pub struct JwtPolicy<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub key: &'a JwtKey,
    pub user_claim: &'a str,
    pub required_claims: &'a BTreeMap<String, String>,
}

/// Clock rules shared by every `jwt` policy.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub leeway: Duration,
    pub max_lifetime: Duration,
}

pub async fn check(
    keys: &KeyStore,
    clock: Clock,
    policy: &JwtPolicy<'_>,
    token: &str,
    subject: &Subject,
) -> Result<i64, AuthzError> {
    let jws = match policy.key {
        JwtKey::JwksUri(url) => {
            let jws = jws::parse(token, "RS256")?;
            // Before any key lookup, so foreign tokens cannot make us fetch the vendor's key set.
            refuse_foreign_issuer(&jws, policy.issuer)?;
            let kid = required_kid::<String>(jws.kid.as_deref())?;
            let set = TenantKeySet { tenant: subject.tenant.clone(), url: url.clone() };
            let key = keys.key(&set, kid, |_| {}).await?;
            let message = jws.signing_input.as_bytes();
            match jsonwebtoken::crypto::verify(jws.signature, message, &key.key, Algorithm::RS256) {
                Ok(true) => jws,
                Ok(false) | Err(_) => return Err(Check::Signature.into()),
            }
        }
        JwtKey::Hs256(secret) => {
            let jws = jws::parse(token, "HS256")?;
            verify_hs256(&jws, secret.expose_secret())?;
            jws
        }
    };
    let user_claim = if policy.user_claim.is_empty() { DEFAULT_USER_CLAIM } else { policy.user_claim };
    let rules = claims::Rules {
        issuer: policy.issuer,
        audience: policy.audience,
        user_claim,
        required: policy.required_claims,
        leeway: seconds(clock.leeway),
        max_lifetime: seconds(clock.max_lifetime),
        now: unix_now(),
    };
    claims::check(&jws.claims, &rules, subject.oid)
}

fn refuse_foreign_issuer(jws: &Jws<'_>, issuer: &str) -> Result<(), Check> {
    match jws.claims.get("iss") {
        Some(Value::String(iss)) if iss == issuer => Ok(()),
        Some(_) => Err(Check::Issuer),
        None => Err(Check::MissingClaim("iss".into())),
    }
}

/// A constant-time comparison of the HMAC over `header.payload`.
fn verify_hs256(jws: &Jws<'_>, secret: &[u8]) -> Result<(), Check> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(Check::Key("shared secret shorter than 256 bits"));
    }
    let signature = decode_segment(jws.signature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Check::Key("shared secret not usable"))?;
    mac.update(jws.signing_input.as_bytes());
    mac.verify_slice(&signature).map_err(|_| Check::Signature)
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn unix_now() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    seconds(since_epoch)
}
