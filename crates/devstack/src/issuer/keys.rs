//! The issuer's RSA signing keys: generation, the published set with rotation, and their JWK form.
//!
//! Entra publishes several keys at once and rolls them without notice; relying parties must find the
//! key by `kid` and cope with a new one appearing. Rotation here publishes the new key and makes it
//! the signing key in one step (under one lock), so a token signed with it can always be verified
//! against a JWKS fetched afterwards.

use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context as _;
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use rsa::{
    RsaPrivateKey,
    pkcs1v15::SigningKey,
    signature::{RandomizedSigner as _, SignatureEncoding as _},
    traits::PublicKeyParts as _,
};
use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use super::cert;

/// Entra signs with 2048-bit RSA keys.
pub const KEY_BITS: usize = 2048;
/// The weak key of [`super::Signing::WeakKey`]: half the size relying parties must insist on.
pub const WEAK_KEY_BITS: usize = 1024;

/// How many keys stay published after a rotation that does not retire the old ones. Real Entra
/// publishes more, but three is enough to exercise "several keys, pick by kid".
pub const MAX_PUBLISHED: usize = 3;

/// One RSA signing key with everything derived from it computed once.
pub struct IssuerKey {
    kid: String,
    /// The JWK `use`: `sig`, except for the odd key published as an encryption key.
    usage: &'static str,
    signer: SigningKey<Sha256>,
    modulus: String,
    exponent: String,
    certificate: String,
}

impl IssuerKey {
    /// Generates a fresh key and its self-signed certificate. Takes a noticeable fraction of a second:
    /// call it off the async executor.
    pub fn generate() -> anyhow::Result<Self> {
        Self::generate_with(KEY_BITS, "sig")
    }

    /// A key of `bits` bits published with `"use": usage`, for the deliberately odd signing modes.
    pub fn generate_with(bits: usize, usage: &'static str) -> anyhow::Result<Self> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), bits)
            .context("Failed to generate an RSA signing key")?;
        let der = cert::self_signed_der(&private)?;
        Ok(Self {
            // Entra's `kid` and `x5t` are both the base64url SHA-1 thumbprint of the certificate.
            kid: URL_SAFE_NO_PAD.encode(Sha1::digest(&der)),
            usage,
            modulus: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            exponent: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            certificate: STANDARD.encode(&der),
            signer: SigningKey::new(private),
        })
    }

    /// The key id, which is also the `x5t` thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// An RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signer.sign_with_rng(&mut rand::thread_rng(), message).to_vec()
    }

    /// The key as a JWKS entry, shaped like Entra's: no `alg` member; `issuer` only in v2 key sets.
    pub fn to_jwk(&self, issuer: Option<&str>) -> Value {
        let mut jwk = json!({
            "kty": "RSA",
            "use": self.usage,
            "kid": self.kid,
            "x5t": self.kid,
            "n": self.modulus,
            "e": self.exponent,
            "x5c": [self.certificate],
        });
        if let (Some(issuer), Some(members)) = (issuer, jwk.as_object_mut()) {
            members.insert("issuer".to_owned(), Value::String(issuer.to_owned()));
        }
        jwk
    }
}

/// The published keys, newest first; the newest is the one that signs.
///
/// The lock is never held across anything that can panic, so a poisoned lock still guards a
/// consistent list and is simply taken over.
pub struct KeyRing {
    published: RwLock<Vec<Arc<IssuerKey>>>,
}

impl KeyRing {
    /// A ring publishing only `first`.
    pub fn new(first: IssuerKey) -> Self {
        Self { published: RwLock::new(vec![Arc::new(first)]) }
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> Arc<IssuerKey> {
        let published = self.published.read().unwrap_or_else(PoisonError::into_inner);
        // The ring is created with one key and rotation only ever adds one before truncating.
        Arc::clone(&published[0])
    }

    /// Every published key, newest first.
    pub fn published(&self) -> Vec<Arc<IssuerKey>> {
        self.published.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Publishes `key` and makes it the signing key; keeps the previous keys published (up to
    /// [`MAX_PUBLISHED`] in all) unless `retire_old`. Returns the kids now published, newest first.
    pub fn rotate(&self, key: IssuerKey, retire_old: bool) -> Vec<String> {
        let mut published = self.published.write().unwrap_or_else(PoisonError::into_inner);
        published.insert(0, Arc::new(key));
        published.truncate(if retire_old { 1 } else { MAX_PUBLISHED });
        published.iter().map(|key| key.kid.clone()).collect()
    }
}
