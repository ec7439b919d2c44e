use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

use super::{AcsEndpoint, InvalidValue, Transport};

/// The raw bytes of an ACS access key (the HMAC key). Never printed.
pub struct AccessKey(SecretBox<Vec<u8>>);

impl AccessKey {
    pub fn from_base64(value: &str) -> Result<Self, InvalidValue> {
        let bytes = STANDARD
            .decode(value)
            .map_err(|_| InvalidValue::new("accesskey must be standard base64 with padding"))?;
        if bytes.is_empty() {
            return Err(InvalidValue::new("accesskey must not be empty"));
        }
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// `sha256:<first 8 hex digits>`: enough to tell keys apart, useless to an attacker.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.expose())
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKey({})", self.fingerprint())
    }
}

/// `sha256:` and the first 8 hex digits of the SHA-256 of `secret`.
pub fn fingerprint(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// An ACS connection string as the SDKs parse it: `;`-separated `key=value` pairs (split on the first
/// `=`), keys case-insensitive, `endpoint` and `accesskey` required, other keys ignored.
#[derive(Debug)]
pub struct ConnectionString {
    pub endpoint: AcsEndpoint,
    pub access_key: AccessKey,
}

impl ConnectionString {
    pub fn parse(value: &str, transport: Transport) -> Result<Self, InvalidValue> {
        let mut endpoint = None;
        let mut access_key = None;
        for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(InvalidValue::new("must be 'endpoint=...;accesskey=...'"));
            };
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "endpoint" => &mut endpoint,
                "accesskey" => &mut access_key,
                _ => continue,
            };
            if slot.replace(value.trim()).is_some() {
                return Err(InvalidValue::new(format!("names '{}' twice", key.trim())));
            }
        }
        let endpoint = endpoint.ok_or_else(|| InvalidValue::new("has no endpoint"))?;
        let access_key = access_key.ok_or_else(|| InvalidValue::new("has no accesskey"))?;
        let endpoint = AcsEndpoint::parse(endpoint, transport)
            .map_err(|e| InvalidValue::new(format!("endpoint {e}")))?;
        Ok(Self { endpoint, access_key: AccessKey::from_base64(access_key)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn connection_strings_parse_with_keys_in_any_case_and_order() {
        let cs = ConnectionString::parse(
            &format!("AccessKey={KEY};Endpoint=https://contoso.communication.azure.com/;"),
            Transport::HttpsOnly,
        )
        .unwrap();
        assert_eq!(cs.endpoint.as_str(), "https://contoso.communication.azure.com");
        assert_eq!(cs.access_key.expose(), (0u8..32).collect::<Vec<_>>());
    }

    #[test]
    fn a_key_value_with_equals_signs_is_split_on_the_first_one_only() {
        let cs = ConnectionString::parse(
            &format!("endpoint=https://x.communication.azure.com;accesskey={KEY}"),
            Transport::HttpsOnly,
        )
        .unwrap();
        assert_eq!(cs.access_key.expose().len(), 32);
    }

    #[test]
    fn connection_strings_missing_parts_or_with_bad_keys_are_refused() {
        let refused = |s: &str| ConnectionString::parse(s, Transport::HttpsOnly).unwrap_err().to_string();
        assert_eq!(refused(&format!("accesskey={KEY}")), "has no endpoint");
        assert_eq!(refused("endpoint=https://x.communication.azure.com"), "has no accesskey");
        assert!(
            refused("endpoint=https://x.communication.azure.com;accesskey=not base64!").contains("base64")
        );
        assert_eq!(
            refused("endpoint=https://x.communication.azure.com;accesskey="),
            "accesskey must not be empty"
        );
        assert!(refused("garbage").contains("endpoint=..."));
        assert!(
            refused(&format!("endpoint=http://x;accesskey={KEY}")).starts_with("endpoint must use https")
        );
        assert!(refused(&format!("endpoint=https://a;ENDPOINT=https://b;accesskey={KEY}")).contains("twice"));
    }

    #[test]
    fn errors_never_echo_the_access_key() {
        let secret = "c2VjcmV0LWtleS1tYXRlcmlhbA=";
        let error =
            ConnectionString::parse(&format!("endpoint=ftp://x;accesskey={secret}"), Transport::HttpsOnly)
                .unwrap_err();
        assert!(!error.to_string().contains(secret));
    }

    #[test]
    fn the_fingerprint_is_sha256_prefixed_and_eight_hex_digits() {
        let key = AccessKey::from_base64(KEY).unwrap();
        let fp = key.fingerprint();
        assert!(fp.starts_with("sha256:") && fp.len() == 15, "{fp}");
        assert!(!format!("{key:?}").contains(KEY));
    }
}
