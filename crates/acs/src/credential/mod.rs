//! How the gateway proves itself to a tenant's ACS resource (artifact C): an access key (HMAC) or an
//! Entra service principal (bearer token from client credentials).
//!
//! These are plain values the gateway builds from its stored tenant for each call. Bearer tokens are
//! cached in the [`AcsClient`](crate::AcsClient), not here, so rebuilding a `Credential` per request
//! costs no token fetch.

mod token_cache;
mod token_endpoint;

use std::fmt;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Digest, Sha256};
use url::Url;

pub(crate) use token_cache::BearerTokens;
pub use token_endpoint::TokenEndpointError;

/// Artifact C: how requests to one ACS resource are authenticated.
#[derive(Debug, Clone)]
pub enum Credential {
    /// HMAC-SHA256 with the resource's access key (from its connection string).
    AccessKey(AccessKey),
    /// `Authorization: Bearer` with an Entra token for `https://communication.azure.com//.default`.
    ClientSecret(ClientSecretCredential),
}

/// The decoded bytes of an ACS access key. Never printed.
#[derive(Clone)]
pub struct AccessKey(SecretSlice<u8>);

/// The `accesskey` of a connection string was not usable; says why without echoing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the ACS access key must be non-empty standard base64")]
pub struct InvalidAccessKey;

impl AccessKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }

    /// Decodes the `accesskey` value of a connection string (standard alphabet, padded).
    pub fn from_base64(value: &str) -> Result<Self, InvalidAccessKey> {
        match STANDARD.decode(value.trim()) {
            Ok(bytes) if !bytes.is_empty() => Ok(Self::from_bytes(bytes)),
            _ => Err(InvalidAccessKey),
        }
    }

    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey([REDACTED])")
    }
}

/// An Entra service principal with an RBAC role on the ACS resource (reference section 4).
#[derive(Debug, Clone)]
pub struct ClientSecretCredential {
    /// Where authorities live: `https://login.microsoftonline.com`, a sovereign cloud, or the dev issuer.
    pub authority_host: Url,
    /// The Entra tenant the service principal lives in.
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: SecretString,
}

impl ClientSecretCredential {
    /// Identifies the credential *and its secret* for the token cache, so a rotated secret is never
    /// served a token fetched with the old one. Length-prefixed so fields cannot run into each other.
    pub(crate) fn cache_fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in [
            self.authority_host.as_str(),
            &self.tenant_id,
            &self.client_id,
            self.client_secret.expose_secret(),
        ] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(secret: &str) -> ClientSecretCredential {
        ClientSecretCredential {
            authority_host: Url::parse("https://login.microsoftonline.com").unwrap(),
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: secret.into(),
        }
    }

    #[test]
    fn access_keys_decode_from_standard_base64_and_refuse_empty_or_invalid_values() {
        let key = AccessKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_eq!(key.expose(), (0u8..32).collect::<Vec<_>>());
        assert_eq!(AccessKey::from_base64("").unwrap_err(), InvalidAccessKey);
        assert_eq!(AccessKey::from_base64("not base64!").unwrap_err(), InvalidAccessKey);
    }

    #[test]
    fn debug_output_never_shows_key_or_client_secret() {
        let key = Credential::AccessKey(AccessKey::from_base64("c2VjcmV0LWtleS1ieXRlcw==").unwrap());
        assert_eq!(format!("{key:?}"), "AccessKey(AccessKey([REDACTED]))");
        let printed = format!("{:?}", Credential::ClientSecret(principal("hunter2-secret")));
        assert!(!printed.contains("hunter2-secret"), "{printed}");
    }

    #[test]
    fn a_rotated_client_secret_changes_the_cache_fingerprint() {
        assert_eq!(principal("a").cache_fingerprint(), principal("a").cache_fingerprint());
        assert_ne!(principal("a").cache_fingerprint(), principal("b").cache_fingerprint());
    }
}
