//! Verifies ACS HMAC-SHA256 request signatures as the official SDKs make them (reference section 3).
//!
//! Written independently of the gateway's signer on purpose: the two implementations meet only
//! at the SDK-produced test vectors below, so a shared misreading cannot hide.

use std::time::{Duration, SystemTime};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The only `SignedHeaders` list the SDKs send, in this order.
const SIGNED_HEADERS: &str = "x-ms-date;host;x-ms-content-sha256";
/// How far `x-ms-date` may be from the emulator's clock, either way.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// What the verifier needs from a received request, all exactly as received.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceivedRequest<'a> {
    pub method: &'a str,
    /// The request target's path and query, still percent-encoded: `/identities/8%3Aacs.../...?api-version=...`.
    pub path_and_query: &'a str,
    pub host: Option<&'a str>,
    pub date: Option<&'a str>,
    pub content_sha256: Option<&'a str>,
    /// Everything after `HMAC-SHA256 ` in `Authorization`.
    pub credentials: &'a str,
    pub body: &'a [u8],
}

/// Why a signature was refused. The messages name the failed check and never echo a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HmacFailure {
    #[error(
        "the HMAC Authorization header must be 'HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature=<base64>'"
    )]
    MalformedAuthorization,
    #[error("the x-ms-date header is missing")]
    MissingDate,
    #[error("the x-ms-date header is not an RFC 1123 date")]
    MalformedDate,
    #[error("the x-ms-date header is more than 5 minutes away from the server's clock")]
    StaleDate,
    #[error("the Host header is missing")]
    MissingHost,
    #[error("the x-ms-content-sha256 header is missing")]
    MissingContentHash,
    #[error("the x-ms-content-sha256 header does not match the SHA-256 of the request body")]
    ContentHashMismatch,
    #[error("the HMAC signature does not match the request")]
    BadSignature,
}

/// base64(SHA-256(body)), the value of `x-ms-content-sha256`.
pub(crate) fn content_hash(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// `verb \n path_and_query \n date ; host ; content_hash`, with no trailing newline.
pub(crate) fn string_to_sign(
    method: &str,
    path_and_query: &str,
    date: &str,
    host: &str,
    hash: &str,
) -> String {
    format!("{method}\n{path_and_query}\n{date};{host};{hash}")
}

/// Checks one request against the access key, at the instant `now`.
pub(crate) fn verify(key: &[u8], request: &ReceivedRequest<'_>, now: SystemTime) -> Result<(), HmacFailure> {
    let signature = parse_credentials(request.credentials)?;
    let date = request.date.ok_or(HmacFailure::MissingDate)?;
    let sent_at = httpdate::parse_http_date(date).map_err(|_| HmacFailure::MalformedDate)?;
    let skew = now.duration_since(sent_at).unwrap_or_else(|early| early.duration());
    if skew > MAX_CLOCK_SKEW {
        return Err(HmacFailure::StaleDate);
    }
    let host = request.host.ok_or(HmacFailure::MissingHost)?;
    let claimed_hash = request.content_sha256.ok_or(HmacFailure::MissingContentHash)?;
    if claimed_hash != content_hash(request.body) {
        return Err(HmacFailure::ContentHashMismatch);
    }
    let message = string_to_sign(request.method, request.path_and_query, date, host, claimed_hash);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| HmacFailure::BadSignature)?;
    mac.update(message.as_bytes());
    mac.verify_slice(&signature).map_err(|_| HmacFailure::BadSignature)
}

/// `SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>` → the signature bytes.
fn parse_credentials(credentials: &str) -> Result<Vec<u8>, HmacFailure> {
    let mut signed_headers = None;
    let mut signature = None;
    for parameter in credentials.trim().split('&') {
        match parameter.split_once('=') {
            Some((name, value)) if name.eq_ignore_ascii_case("SignedHeaders") => signed_headers = Some(value),
            Some((name, value)) if name.eq_ignore_ascii_case("Signature") => signature = Some(value),
            _ => return Err(HmacFailure::MalformedAuthorization),
        }
    }
    match (signed_headers, signature) {
        (Some(headers), Some(signature)) if headers.eq_ignore_ascii_case(SIGNED_HEADERS) => {
            STANDARD.decode(signature).map_err(|_| HmacFailure::MalformedAuthorization)
        }
        _ => Err(HmacFailure::MalformedAuthorization),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors of reference section 3, produced by azure-communication-identity 1.5.0.
    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const HOST: &str = "contoso.communication.azure.com";
    const EXCHANGE_PATH: &str = "/teamsUser/:exchangeAccessToken?api-version=2023-10-01";
    const EXCHANGE_BODY: &str = r#"{"token": "eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiJ4In0.sig", "appId": "11111111-1111-1111-1111-111111111111", "userId": "22222222-2222-2222-2222-222222222222"}"#;
    const EXCHANGE_HASH: &str = "lq7Ax4eDvDaNhIeNBPAAGTdN1P8nOWPYcbvVlDR7494=";
    const EXCHANGE_SIGNATURE: &str = "D6/1pRT+DlxIJFdiCrHKI68kBuapzwMZs3XV7YxIUBA=";
    const REVOKE_PATH: &str = "/identities/8%3Aacs%3Ar_u/:revokeAccessTokens?api-version=2023-10-01";
    const EMPTY_HASH: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const REVOKE_SIGNATURE: &str = "Ig8ALmvtOQY2LAuUsmtrmW164NPR5/ctUsvsJzFpin4=";
    const TRAILING_SLASH_SIGNATURE: &str = "DcvI00Rh7GdhzfqF8B5ZOAOGBRLamH995M/x6Frnm6I=";

    fn key() -> Vec<u8> {
        STANDARD.decode(KEY_B64).unwrap()
    }

    fn at_signing_time() -> SystemTime {
        httpdate::parse_http_date(DATE).unwrap()
    }

    fn credentials(signature: &str) -> String {
        format!("SignedHeaders={SIGNED_HEADERS}&Signature={signature}")
    }

    fn request<'a>(
        path: &'a str,
        body: &'a [u8],
        hash: &'a str,
        credentials: &'a str,
    ) -> ReceivedRequest<'a> {
        ReceivedRequest {
            method: "POST",
            path_and_query: path,
            host: Some(HOST),
            date: Some(DATE),
            content_sha256: Some(hash),
            credentials,
            body,
        }
    }

    #[test]
    fn the_string_to_sign_of_the_exchange_vector_is_rebuilt_byte_for_byte() {
        assert_eq!(content_hash(EXCHANGE_BODY.as_bytes()), EXCHANGE_HASH);
        assert_eq!(EXCHANGE_BODY.len(), 150);
        assert_eq!(
            string_to_sign("POST", EXCHANGE_PATH, DATE, HOST, EXCHANGE_HASH),
            "POST\n/teamsUser/:exchangeAccessToken?api-version=2023-10-01\nTue, 14 Nov 2023 22:13:20 GMT;contoso.communication.azure.com;lq7Ax4eDvDaNhIeNBPAAGTdN1P8nOWPYcbvVlDR7494="
        );
    }

    #[test]
    fn the_string_to_sign_of_the_empty_body_revoke_vector_is_rebuilt_byte_for_byte() {
        assert_eq!(content_hash(b""), EMPTY_HASH);
        assert_eq!(
            string_to_sign("POST", REVOKE_PATH, DATE, HOST, EMPTY_HASH),
            "POST\n/identities/8%3Aacs%3Ar_u/:revokeAccessTokens?api-version=2023-10-01\nTue, 14 Nov 2023 22:13:20 GMT;contoso.communication.azure.com;47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn the_sdk_signature_of_the_exchange_vector_verifies() {
        let credentials = credentials(EXCHANGE_SIGNATURE);
        let request = request(EXCHANGE_PATH, EXCHANGE_BODY.as_bytes(), EXCHANGE_HASH, &credentials);
        assert_eq!(verify(&key(), &request, at_signing_time()), Ok(()));
    }

    #[test]
    fn the_sdk_signature_of_the_empty_body_revoke_vector_verifies() {
        let credentials = credentials(REVOKE_SIGNATURE);
        let request = request(REVOKE_PATH, b"", EMPTY_HASH, &credentials);
        assert_eq!(verify(&key(), &request, at_signing_time()), Ok(()));
    }

    #[test]
    fn a_signature_over_a_trailing_slash_host_does_not_verify_for_the_plain_host() {
        let credentials = credentials(TRAILING_SLASH_SIGNATURE);
        let request = request(REVOKE_PATH, b"", EMPTY_HASH, &credentials);
        assert_eq!(verify(&key(), &request, at_signing_time()), Err(HmacFailure::BadSignature));

        let slashed = ReceivedRequest { host: Some("contoso.communication.azure.com/"), ..request };
        assert_eq!(verify(&key(), &slashed, at_signing_time()), Ok(()));
    }

    #[test]
    fn a_decoded_path_does_not_verify_a_signature_over_the_encoded_path() {
        let credentials = credentials(REVOKE_SIGNATURE);
        let decoded = "/identities/8:acs:r_u/:revokeAccessTokens?api-version=2023-10-01";
        let request = request(decoded, b"", EMPTY_HASH, &credentials);
        assert_eq!(verify(&key(), &request, at_signing_time()), Err(HmacFailure::BadSignature));
    }

    #[test]
    fn another_key_does_not_verify() {
        let credentials = credentials(EXCHANGE_SIGNATURE);
        let request = request(EXCHANGE_PATH, EXCHANGE_BODY.as_bytes(), EXCHANGE_HASH, &credentials);
        assert_eq!(verify(&[7u8; 32], &request, at_signing_time()), Err(HmacFailure::BadSignature));
    }

    #[test]
    fn a_tampered_body_fails_the_content_hash_check() {
        let credentials = credentials(EXCHANGE_SIGNATURE);
        let tampered = EXCHANGE_BODY.replace("2222", "3333");
        let request = request(EXCHANGE_PATH, tampered.as_bytes(), EXCHANGE_HASH, &credentials);
        assert_eq!(verify(&key(), &request, at_signing_time()), Err(HmacFailure::ContentHashMismatch));
    }

    #[test]
    fn dates_more_than_five_minutes_away_either_way_are_stale() {
        let credentials = credentials(EXCHANGE_SIGNATURE);
        let request = request(EXCHANGE_PATH, EXCHANGE_BODY.as_bytes(), EXCHANGE_HASH, &credentials);
        let six_minutes = Duration::from_secs(360);
        assert_eq!(verify(&key(), &request, at_signing_time() + six_minutes), Err(HmacFailure::StaleDate));
        assert_eq!(verify(&key(), &request, at_signing_time() - six_minutes), Err(HmacFailure::StaleDate));
        let four_minutes = Duration::from_secs(240);
        assert_eq!(verify(&key(), &request, at_signing_time() + four_minutes), Ok(()));
    }

    #[test]
    fn malformed_credentials_and_missing_headers_are_named() {
        let body = EXCHANGE_BODY.as_bytes();
        for credentials in ["", "Signature=abc", "SignedHeaders=host&Signature=abc", "SignedHeaders=x"] {
            let request = request(EXCHANGE_PATH, body, EXCHANGE_HASH, credentials);
            let outcome = verify(&key(), &request, at_signing_time());
            assert_eq!(outcome, Err(HmacFailure::MalformedAuthorization), "{credentials:?}");
        }
        let credentials = credentials(EXCHANGE_SIGNATURE);
        let complete = request(EXCHANGE_PATH, body, EXCHANGE_HASH, &credentials);
        let cases = [
            (ReceivedRequest { date: None, ..complete }, HmacFailure::MissingDate),
            (ReceivedRequest { date: Some("yesterday"), ..complete }, HmacFailure::MalformedDate),
            (ReceivedRequest { host: None, ..complete }, HmacFailure::MissingHost),
            (ReceivedRequest { content_sha256: None, ..complete }, HmacFailure::MissingContentHash),
        ];
        for (request, expected) in cases {
            assert_eq!(verify(&key(), &request, at_signing_time()), Err(expected));
        }
    }
}
