//! The Teams token exchange on the wire: `POST {endpoint}/teamsUser/:exchangeAccessToken`, its body
//! and its answer (reference section 1).

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::{credential::Credential, error::AcsError};

/// Which ACS resource to call and how to authenticate, built by the gateway from its stored tenant.
#[derive(Debug, Clone, Copy)]
pub struct AcsTarget<'a> {
    /// The tenant's slug: keys the circuit breaker and the bearer-token cache, and labels logs.
    pub tenant: &'a str,
    /// The resource's base URL, e.g. `https://x.communication.azure.com` (a trailing `/` is tolerated).
    pub endpoint: &'a str,
    pub credential: &'a Credential,
}

/// The body ACS expects, serialised as `{"token","appId","userId"}`.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeRequest<'a> {
    /// The Teams user's Entra access token (A1).
    pub token: &'a str,
    /// The Entra app's client id (A3); ACS checks it against the token's `appid`.
    pub app_id: &'a str,
    /// The Teams user's object id (A2); ACS checks it against the token's `oid`.
    pub user_id: &'a str,
}

impl fmt::Debug for ExchangeRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("token", &"[REDACTED]")
            .field("app_id", &self.app_id)
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// The ACS access token for the Teams user (D). `Debug` does not print the token.
#[derive(Debug, Clone)]
pub struct AcsToken {
    pub token: SecretString,
    /// ACS's `expiresOn`: the Entra token's expiry.
    pub expires_on: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse {
    token: String,
    expires_on: String,
}

/// `{endpoint}/teamsUser/:exchangeAccessToken?api-version=...`, with the `:` kept literally.
pub(crate) fn exchange_url(endpoint: &str, api_version: &str) -> Result<Url, AcsError> {
    let base = endpoint.trim_end_matches('/');
    let mut url = Url::parse(&format!("{base}/teamsUser/:exchangeAccessToken"))
        .map_err(|_| AcsError::Protocol("the tenant's ACS endpoint is not a valid URL".into()))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() || url.query().is_some() {
        return Err(AcsError::Protocol("the tenant's ACS endpoint must be an http(s) base URL".into()));
    }
    url.query_pairs_mut().append_pair("api-version", api_version);
    Ok(url)
}

/// Parses a 200 answer: `{"token": "...", "expiresOn": "<RFC 3339>"}`.
pub(crate) fn parse_token_response(body: &[u8]) -> Result<AcsToken, AcsError> {
    let response: TokenResponse = serde_json::from_slice(body)
        .map_err(|_| AcsError::Protocol("the exchange answer is not {token, expiresOn} JSON".into()))?;
    if response.token.is_empty() {
        return Err(AcsError::Protocol("the exchange answer has an empty token".into()));
    }
    let expires_on = parse_expires_on(&response.expires_on).ok_or_else(|| {
        AcsError::Protocol(format!(
            "the exchange answer's expiresOn {:?} is not an RFC 3339 date",
            response.expires_on
        ))
    })?;
    Ok(AcsToken { token: response.token.into(), expires_on })
}

/// RFC 3339 with any number of fractional digits and `Z` or an offset, as the spec allows.
fn parse_expires_on(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value).ok().map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn the_exchange_url_keeps_the_colon_literally() {
        let url = exchange_url("https://x.communication.azure.com", "2023-10-01").unwrap();
        assert_eq!(
            url.as_str(),
            "https://x.communication.azure.com/teamsUser/:exchangeAccessToken?api-version=2023-10-01"
        );
        assert_eq!(
            exchange_url("http://127.0.0.1:8091/", "2023-10-01").unwrap().as_str(),
            "http://127.0.0.1:8091/teamsUser/:exchangeAccessToken?api-version=2023-10-01"
        );
    }

    #[test]
    fn endpoints_that_are_not_http_base_urls_are_refused() {
        for endpoint in ["x.communication.azure.com", "ftp://x", "https://x/?a=b", ""] {
            assert!(matches!(exchange_url(endpoint, "2023-10-01"), Err(AcsError::Protocol(_))), "{endpoint}");
        }
    }

    #[test]
    fn the_request_serialises_with_acs_field_names() {
        let request = ExchangeRequest { token: "t", app_id: "a", user_id: "u" };
        assert_eq!(serde_json::to_string(&request).unwrap(), r#"{"token":"t","appId":"a","userId":"u"}"#);
        assert!(!format!("{:?}", ExchangeRequest { token: "secret-a1", ..request }).contains("secret-a1"));
    }

    #[test]
    fn expires_on_with_seven_fractional_digits_and_an_offset_is_parsed() {
        let token = parse_token_response(br#"{"token":"d","expiresOn":"2025-07-10T21:39:39.3244584+00:00"}"#)
            .unwrap();
        assert_eq!(token.token.expose_secret(), "d");
        let expected = Utc.with_ymd_and_hms(2025, 7, 10, 21, 39, 39).unwrap()
            + chrono::Duration::nanoseconds(324_458_400);
        assert_eq!(token.expires_on, expected);
    }

    #[test]
    fn expires_on_with_z_no_fraction_or_another_offset_is_parsed() {
        let parse = |v: &str| parse_expires_on(v).unwrap();
        assert_eq!(parse("2026-11-22T14:03:00Z"), Utc.with_ymd_and_hms(2026, 11, 22, 14, 3, 0).unwrap());
        assert_eq!(
            parse("2026-11-22T16:03:00.5+02:00").timestamp(),
            parse("2026-11-22T14:03:00Z").timestamp()
        );
    }

    #[test]
    fn answers_without_a_usable_token_or_date_are_protocol_errors() {
        for body in [
            &br#"{"token":"d"}"#[..],
            br#"{"token":"","expiresOn":"2026-11-22T14:03:00Z"}"#,
            br#"{"token":"d","expiresOn":"tomorrow"}"#,
            b"<html>",
        ] {
            assert!(matches!(parse_token_response(body), Err(AcsError::Protocol(_))));
        }
    }

    #[test]
    fn a_protocol_error_never_echoes_the_token() {
        let error = parse_token_response(br#"{"token":"secret-d","expiresOn":"soon"}"#).unwrap_err();
        assert!(!error.to_string().contains("secret-d"));
    }
}
