//! Secrets at rest: AES-256-GCM with a random 96-bit nonce per value, the key id stored beside the
//! ciphertext, and associated data binding each value to its tenant and purpose (a ciphertext copied
//! into another tenant's row does not open). The keyring's first key seals; every key opens.

use std::fmt;

use aes_gcm::{
    Aes256Gcm, Key, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};

use crate::domain::fingerprint;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("ACSGW_SECRET_KEYS is empty; expected id:BASE64_32_BYTES[,id2:...]")]
    Empty,
    #[error("ACSGW_SECRET_KEYS entry {0} is not id:BASE64_32_BYTES")]
    Malformed(usize),
    #[error("ACSGW_SECRET_KEYS key id {0:?} must be 1 to 32 characters of letters, digits, '-' or '_'")]
    BadKeyId(String),
    #[error("ACSGW_SECRET_KEYS key {0:?} must be exactly 32 bytes of standard base64")]
    BadKey(String),
    #[error("ACSGW_SECRET_KEYS names key id {0:?} twice")]
    DuplicateKeyId(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("secret was sealed with key {0:?}, which is not in ACSGW_SECRET_KEYS")]
    UnknownKey(String),
    #[error("secret sealed with key {0:?} does not open: wrong key material, or the value was altered")]
    DoesNotOpen(String),
    #[error("stored secret is malformed")]
    Malformed,
    #[error("secret could not be sealed")]
    SealFailed,
}

/// A sealed value as stored: `{"keyId", "nonce", "ciphertext"}` (base64).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sealed {
    pub key_id: String,
    pub nonce: String,
    pub ciphertext: String,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed(key {})", self.key_id)
    }
}

/// A sealed secret with the fingerprint the API shows in its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSecret {
    pub fingerprint: String,
    #[serde(flatten)]
    pub sealed: Sealed,
}

/// What a sealed value belongs to; becomes the AES-GCM associated data.
#[derive(Debug, Clone, Copy)]
pub struct SealContext<'a> {
    pub tenant: uuid::Uuid,
    pub purpose: &'a str,
}

impl SealContext<'_> {
    fn aad(&self) -> String {
        format!("acsgw:{}:{}", self.tenant, self.purpose)
    }
}

pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Parses `id1:BASE64_32_BYTES[,id2:...]`. Errors name the entry, never its key material.
    pub fn parse(value: &str) -> Result<Self, KeyringError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for (index, entry) in value.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (id, key) = entry.split_once(':').ok_or(KeyringError::Malformed(index + 1))?;
            let id_ok = (1..=32).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                return Err(KeyringError::BadKeyId(id.to_owned()));
            }
            let bytes = SecretBox::new(Box::new(STANDARD.decode(key).unwrap_or_default()));
            if bytes.expose_secret().len() != 32 {
                return Err(KeyringError::BadKey(id.to_owned()));
            }
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(KeyringError::DuplicateKeyId(id.to_owned()));
            }
            let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes.expose_secret()));
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// The id of the key that seals new values.
    pub fn sealing_key_id(&self) -> &str {
        &self.keys[0].0
    }

    pub fn seal(&self, plaintext: &[u8], context: SealContext<'_>) -> Result<Sealed, SealError> {
        let (key_id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = context.aad();
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: aad.as_bytes() })
            .map_err(|_| SealError::SealFailed)?;
        Ok(Sealed {
            key_id: key_id.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    pub fn seal_secret(&self, plaintext: &[u8], context: SealContext<'_>) -> Result<StoredSecret, SealError> {
        Ok(StoredSecret { fingerprint: fingerprint(plaintext), sealed: self.seal(plaintext, context)? })
    }

    pub fn open(&self, sealed: &Sealed, context: SealContext<'_>) -> Result<SecretBox<Vec<u8>>, SealError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = STANDARD.decode(&sealed.nonce).map_err(|_| SealError::Malformed)?;
        let ciphertext = STANDARD.decode(&sealed.ciphertext).map_err(|_| SealError::Malformed)?;
        if nonce.len() != 12 {
            return Err(SealError::Malformed);
        }
        let aad = context.aad();
        cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: aad.as_bytes() })
            .map(|plain| SecretBox::new(Box::new(plain)))
            .map_err(|_| SealError::DoesNotOpen(sealed.key_id.clone()))
    }

    /// Opens with any key and seals again under the sealing key; `None` if already sealed with it.
    pub fn reseal(
        &self,
        stored: &StoredSecret,
        context: SealContext<'_>,
    ) -> Result<Option<StoredSecret>, SealError> {
        if stored.sealed.key_id == self.sealing_key_id() {
            return Ok(None);
        }
        let plain = self.open(&stored.sealed, context)?;
        Ok(Some(StoredSecret {
            fingerprint: stored.fingerprint.clone(),
            sealed: self.seal(plain.expose_secret(), context)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn context() -> SealContext<'static> {
        SealContext { tenant: uuid::Uuid::nil(), purpose: "acs" }
    }

    #[test]
    fn a_sealed_value_opens_to_the_same_bytes_and_does_not_contain_them() {
        let keyring = Keyring::parse(K1).unwrap();
        let sealed = keyring.seal(b"top secret access key", context()).unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.contains("top secret"));
        assert_eq!(keyring.open(&sealed, context()).unwrap().expose_secret(), b"top secret access key");
    }

    #[test]
    fn two_seals_of_one_value_use_different_nonces() {
        let keyring = Keyring::parse(K1).unwrap();
        let (a, b) = (keyring.seal(b"x", context()).unwrap(), keyring.seal(b"x", context()).unwrap());
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn a_keyring_without_the_sealing_key_says_so_instead_of_returning_garbage() {
        let sealed = Keyring::parse(K1).unwrap().seal(b"x", context()).unwrap();
        let error = Keyring::parse(K2).unwrap().open(&sealed, context()).unwrap_err();
        assert!(matches!(error, SealError::UnknownKey(ref id) if id == "k1"), "{error}");
    }

    #[test]
    fn the_same_key_id_with_other_key_material_does_not_open() {
        let sealed = Keyring::parse(K1).unwrap().seal(b"x", context()).unwrap();
        let impostor = Keyring::parse(&K2.replace("k2:", "k1:")).unwrap();
        assert!(matches!(impostor.open(&sealed, context()), Err(SealError::DoesNotOpen(_))));
    }

    #[test]
    fn a_value_sealed_for_one_tenant_does_not_open_for_another() {
        let keyring = Keyring::parse(K1).unwrap();
        let sealed = keyring.seal(b"x", context()).unwrap();
        let other = SealContext { tenant: uuid::Uuid::max(), purpose: "acs" };
        assert!(matches!(keyring.open(&sealed, other), Err(SealError::DoesNotOpen(_))));
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old = Keyring::parse(K1).unwrap().seal_secret(b"x", context()).unwrap();
        let rotated = Keyring::parse(&format!("{K2},{K1}")).unwrap();
        assert_eq!(rotated.open(&old.sealed, context()).unwrap().expose_secret(), b"x");
        let resealed = rotated.reseal(&old, context()).unwrap().unwrap();
        assert_eq!(resealed.sealed.key_id, "k2");
        assert_eq!(resealed.fingerprint, old.fingerprint);
        assert!(rotated.reseal(&resealed, context()).unwrap().is_none());
    }

    #[test]
    fn malformed_keyrings_are_refused_without_echoing_key_material() {
        for (value, needle) in [
            ("", "empty"),
            ("k1", "entry 1"),
            ("k1:c2hvcnQ=", "exactly 32 bytes"),
            ("bad id:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "key id"),
            (&format!("{K1},{K1}"), "twice"),
        ] {
            let error = Keyring::parse(value).unwrap_err().to_string();
            assert!(error.contains(needle), "{value:?}: {error}");
            assert!(!error.contains("AAECAwQF") && !error.contains("c2hvcnQ"), "{error}");
        }
        assert!(!format!("{:?}", Keyring::parse(K1).unwrap()).contains("AAEC"));
    }
}
