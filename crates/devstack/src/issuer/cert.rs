//! A minimal self-signed X.509 certificate for a signing key, so the JWKS `x5c` member is a real DER
//! certificate like Entra's (and `x5t` is its real SHA-1 thumbprint).
//!
//! Relying parties should ignore `x5c` (the gateway builds keys from `n`/`e`), so this only has to
//! be well-formed: a v3 certificate with a serial, a common name, a validity window and the RSA
//! public key, signed sha256WithRSAEncryption by the key itself. Writing the few DER structures by
//! hand keeps a certificate-generation crate (and its second crypto backend) out of the workspace.

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore as _;
use rsa::{
    RsaPrivateKey,
    pkcs1v15::SigningKey,
    pkcs8::EncodePublicKey as _,
    signature::{RandomizedSigner as _, SignatureEncoding as _},
};
use sha2::Sha256;

/// The subject and issuer common name: says plainly what the certificate is.
const COMMON_NAME: &str = "acs-devstack dev Entra issuer";

/// How long the certificate claims to be valid; Entra's signing certificates last about five years.
const VALIDITY_DAYS: i64 = 5 * 365;

/// DER of sha256WithRSAEncryption (1.2.840.113549.1.1.11).
const SHA256_WITH_RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// DER of id-at-commonName (2.5.4.3).
const COMMON_NAME_OID: &[u8] = &[0x55, 0x04, 0x03];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_EXPLICIT_0: u8 = 0xa0;

/// Builds the DER encoding of a certificate for `key`, self-signed, valid from a day ago.
pub fn self_signed_der(key: &RsaPrivateKey) -> anyhow::Result<Vec<u8>> {
    let spki = key
        .to_public_key()
        .to_public_key_der()
        .context("Failed to encode the RSA public key as SubjectPublicKeyInfo")?;
    let not_before = Utc::now() - Duration::days(1);
    let not_after = not_before + Duration::days(VALIDITY_DAYS);
    let name = distinguished_name(COMMON_NAME);
    let algorithm = sha256_with_rsa();

    let tbs = sequence(&[
        &tlv(TAG_EXPLICIT_0, &unsigned_integer(&[2])),
        &unsigned_integer(&random_serial()),
        &algorithm,
        &name,
        &sequence(&[&utc_time(not_before), &utc_time(not_after)]),
        &name,
        spki.as_bytes(),
    ]);

    let signature = SigningKey::<Sha256>::new(key.clone()).sign_with_rng(&mut rand::thread_rng(), &tbs);
    let mut bits = vec![0u8]; // no unused bits in the last byte
    bits.extend_from_slice(&signature.to_bytes());

    Ok(sequence(&[&tbs, &algorithm, &tlv(TAG_BIT_STRING, &bits)]))
}

/// 16 random bytes, as CAs do; `unsigned_integer` keeps it positive.
fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut serial);
    serial[0] |= 0x01; // never all zeros after stripping, so the serial is never 0
    serial
}

fn sha256_with_rsa() -> Vec<u8> {
    sequence(&[&tlv(TAG_OID, SHA256_WITH_RSA_OID), &tlv(TAG_NULL, &[])])
}

/// `CN=<common_name>` as a one-attribute RDN sequence.
fn distinguished_name(common_name: &str) -> Vec<u8> {
    let attribute =
        sequence(&[&tlv(TAG_OID, COMMON_NAME_OID), &tlv(TAG_UTF8_STRING, common_name.as_bytes())]);
    sequence(&[&tlv(TAG_SET, &attribute)])
}

/// UTCTime (`YYMMDDHHMMSSZ`), which RFC 5280 requires for dates before 2050.
fn utc_time(at: DateTime<Utc>) -> Vec<u8> {
    tlv(TAG_UTC_TIME, at.format("%y%m%d%H%M%SZ").to_string().as_bytes())
}

/// A DER INTEGER holding the big-endian magnitude `bytes`, made minimal and kept non-negative.
fn unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len().saturating_sub(1));
    let magnitude = &bytes[first..];
    let mut content = Vec::with_capacity(magnitude.len() + 1);
    if magnitude.first().is_some_and(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(magnitude);
    tlv(TAG_INTEGER, &content)
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

/// One tag-length-value with a definite length in the shortest form DER requires.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (be.len() - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_use_the_minimal_der_form() {
        assert_eq!(tlv(0x04, &[0; 3])[..2], [0x04, 3]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn integers_are_minimal_and_never_negative() {
        assert_eq!(unsigned_integer(&[0, 0, 5]), [TAG_INTEGER, 1, 5]);
        assert_eq!(unsigned_integer(&[0x80]), [TAG_INTEGER, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0]), [TAG_INTEGER, 1, 0]);
    }
}
