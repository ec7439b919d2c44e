//! HMAC-SHA256 request signing with an ACS access key (reference section 3).
//!
//! The string to sign is `VERB \n path_and_query \n date ; host ; content_hash`. Every piece is
//! taken from the URL exactly as it goes on the wire, because ACS recomputes it from what it
//! receives: the path stays percent-encoded, the query is not re-sorted, and the host carries the
//! port only when it is not the scheme's default (so `127.0.0.1:8091` for a local emulator, but
//! `x.communication.azure.com` for `:443`), as `Uri.Authority` does in the .NET SDK.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use url::{Position, Url};

/// The `SignedHeaders` list ACS expects, literally and in this order.
pub const SIGNED_HEADERS: &str = "x-ms-date;host;x-ms-content-sha256";

/// The headers that authenticate one request. Sign again for every attempt: the date is part of
/// the signature and ACS refuses stale ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacHeaders {
    /// `x-ms-date`: RFC 1123, GMT.
    pub date: String,
    /// `x-ms-content-sha256`: base64 of the SHA-256 of the exact body bytes.
    pub content_sha256: String,
    /// `Authorization`: `HMAC-SHA256 SignedHeaders=...&Signature=...`.
    pub authorization: String,
}

impl HmacHeaders {
    /// `(name, value)` pairs, ready to add to a request.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("x-ms-date", self.date.as_str()),
            ("x-ms-content-sha256", self.content_sha256.as_str()),
            ("authorization", self.authorization.as_str()),
        ]
        .into_iter()
    }
}

/// Signs a request to `url` with `body` at the instant `now`.
///
/// `method` is the HTTP verb (upper-cased here); `key` is the decoded access key.
pub fn sign(method: &str, url: &Url, body: &[u8], key: &[u8], now: SystemTime) -> HmacHeaders {
    let date = http_date(now);
    let content_sha256 = content_hash(body);
    let message = string_to_sign(
        &method.to_ascii_uppercase(),
        path_and_query(url),
        &date,
        signed_host(url),
        &content_sha256,
    );
    let signature = STANDARD.encode(hmac_sha256(key, message.as_bytes()));
    let authorization = format!("HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature={signature}");
    HmacHeaders { date, content_sha256, authorization }
}

/// `x-ms-date` for `now`. HTTP dates run from 1970 to 9999 (httpdate panics outside them), so a clock
/// outside that range signs the nearest date there is: ACS refuses it as stale, and nothing panics.
fn http_date(now: SystemTime) -> String {
    httpdate::fmt_http_date(now.clamp(UNIX_EPOCH, last_http_date()))
}

/// Fri, 31 Dec 9999 23:59:59 GMT.
fn last_http_date() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

/// base64(SHA-256(body)): the value of `x-ms-content-sha256`.
pub fn content_hash(body: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(body))
}

/// `verb \n path_and_query \n date ; host ; content_hash`, with no trailing newline.
pub fn string_to_sign(
    method: &str,
    path_and_query: &str,
    date: &str,
    host: &str,
    content_hash: &str,
) -> String {
    format!("{method}\n{path_and_query}\n{date};{host};{content_hash}")
}

/// The authority as the `Host` header carries it: no scheme, no user info, the port only when it is
/// not the scheme's default (the `url` crate already drops default ports when parsing).
pub fn signed_host(url: &Url) -> &str {
    &url[Position::BeforeHost..Position::AfterPort]
}

/// The path as sent (still percent-encoded) plus `?` and the raw query, if there is one.
pub fn path_and_query(url: &Url) -> &str {
    &url[Position::BeforePath..Position::AfterQuery]
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC hashes over-long keys and pads short ones, so every key length is valid.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC accepts keys of any length");
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors of reference section 3, produced by azure-communication-identity 1.5.0.
    const KEY: [u8; 32] = {
        let mut key = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            key[i] = i as u8;
            i += 1;
        }
        key
    };
    const EXCHANGE_URL: &str =
        "https://contoso.communication.azure.com/teamsUser/:exchangeAccessToken?api-version=2023-10-01";
    const EXCHANGE_BODY: &str = r#"{"token": "eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiJ4In0.sig", "appId": "11111111-1111-1111-1111-111111111111", "userId": "22222222-2222-2222-2222-222222222222"}"#;
    const REVOKE_URL: &str = "https://contoso.communication.azure.com/identities/8%3Aacs%3Ar_u/:revokeAccessTokens?api-version=2023-10-01";
    const EMPTY_HASH: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    /// Tue, 14 Nov 2023 22:13:20 GMT.
    fn vector_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_exchange_vector_from_the_sdk_is_reproduced_byte_for_byte() {
        assert_eq!(EXCHANGE_BODY.len(), 150);
        let headers = sign("POST", &url(EXCHANGE_URL), EXCHANGE_BODY.as_bytes(), &KEY, vector_time());
        assert_eq!(headers.date, "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(headers.content_sha256, "lq7Ax4eDvDaNhIeNBPAAGTdN1P8nOWPYcbvVlDR7494=");
        assert_eq!(
            headers.authorization,
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=D6/1pRT+DlxIJFdiCrHKI68kBuapzwMZs3XV7YxIUBA="
        );
    }

    #[test]
    fn the_empty_body_revoke_vector_signs_the_percent_encoded_path() {
        let revoke = url(REVOKE_URL);
        assert_eq!(
            path_and_query(&revoke),
            "/identities/8%3Aacs%3Ar_u/:revokeAccessTokens?api-version=2023-10-01"
        );
        let headers = sign("post", &revoke, b"", &KEY, vector_time());
        assert_eq!(headers.content_sha256, EMPTY_HASH);
        assert!(headers.authorization.ends_with("&Signature=Ig8ALmvtOQY2LAuUsmtrmW164NPR5/ctUsvsJzFpin4="));
    }

    #[test]
    fn the_string_to_sign_matches_the_reference_layout() {
        let exchange = url(EXCHANGE_URL);
        let message = string_to_sign(
            "POST",
            path_and_query(&exchange),
            "Tue, 14 Nov 2023 22:13:20 GMT",
            signed_host(&exchange),
            EMPTY_HASH,
        );
        assert_eq!(
            message,
            "POST\n/teamsUser/:exchangeAccessToken?api-version=2023-10-01\nTue, 14 Nov 2023 22:13:20 GMT;contoso.communication.azure.com;47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn the_empty_body_hashes_to_the_well_known_sha256() {
        assert_eq!(content_hash(b""), EMPTY_HASH);
    }

    #[test]
    fn a_non_default_port_is_part_of_the_signed_host_and_a_default_one_is_not() {
        assert_eq!(
            signed_host(&url("http://127.0.0.1:8091/teamsUser/:exchangeAccessToken")),
            "127.0.0.1:8091"
        );
        assert_eq!(
            signed_host(&url("https://x.communication.azure.com:8443/")),
            "x.communication.azure.com:8443"
        );
        assert_eq!(signed_host(&url("https://x.communication.azure.com:443/")), "x.communication.azure.com");
        assert_eq!(signed_host(&url("http://localhost:80/")), "localhost");
        assert_eq!(signed_host(&url("http://[::1]:9000/")), "[::1]:9000");
    }

    #[test]
    fn the_port_changes_the_signature() {
        let with_port = url(
            "https://contoso.communication.azure.com:8443/teamsUser/:exchangeAccessToken?api-version=2023-10-01",
        );
        let default = sign("POST", &url(EXCHANGE_URL), b"{}", &KEY, vector_time());
        let explicit_443 = sign(
            "POST",
            &url(
                "https://contoso.communication.azure.com:443/teamsUser/:exchangeAccessToken?api-version=2023-10-01",
            ),
            b"{}",
            &KEY,
            vector_time(),
        );
        assert_eq!(default, explicit_443);
        assert_ne!(default.authorization, sign("POST", &with_port, b"{}", &KEY, vector_time()).authorization);
    }

    #[test]
    fn a_url_without_a_query_signs_the_bare_path() {
        assert_eq!(path_and_query(&url("https://x.communication.azure.com/identities")), "/identities");
    }

    #[test]
    fn a_clock_before_1970_signs_the_first_http_date_instead_of_panicking() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        let headers = sign("POST", &url(EXCHANGE_URL), b"{}", &KEY, before_1970);
        assert_eq!(headers.date, "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(headers, sign("POST", &url(EXCHANGE_URL), b"{}", &KEY, UNIX_EPOCH));
    }

    #[test]
    fn a_clock_past_the_year_9999_signs_the_last_http_date_instead_of_panicking() {
        // Found by the acs_sign fuzz target: about 2.3 billion years after the epoch.
        let far_future = UNIX_EPOCH + Duration::from_secs(0x0100_0000_6553_f100);
        let headers = sign("POST", &url(EXCHANGE_URL), b"{}", &KEY, far_future);
        assert_eq!(headers.date, "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(headers, sign("POST", &url(EXCHANGE_URL), b"{}", &KEY, last_http_date()));
    }

    #[test]
    fn the_headers_never_contain_the_key() {
        let headers = sign("POST", &url(EXCHANGE_URL), b"{}", &KEY, vector_time());
        let printed = format!("{headers:?}");
        assert!(!printed.contains(&STANDARD.encode(KEY)));
        assert_eq!(
            headers.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            ["x-ms-date", "x-ms-content-sha256", "authorization"]
        );
    }
}
