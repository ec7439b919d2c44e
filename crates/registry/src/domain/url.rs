use std::fmt;

use url::Url;

use super::InvalidValue;

/// Whether plain `http://` is acceptable. Production is `HttpsOnly`; only the devstack and tests turn
/// `ACSGW_ALLOW_INSECURE_HTTP` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    HttpsOnly,
    AllowInsecureHttp,
}

/// An absolute URL of a service we call (webhooks, key sets): https (or http when allowed), a host,
/// no credentials, no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl(Url);

impl ServiceUrl {
    pub fn parse(value: &str, transport: Transport) -> Result<Self, InvalidValue> {
        let url = Url::parse(value).map_err(|_| InvalidValue::new("must be an absolute URL"))?;
        match (url.scheme(), transport) {
            ("https", _) | ("http", Transport::AllowInsecureHttp) => {}
            ("http", Transport::HttpsOnly) => {
                return Err(InvalidValue::new("must use https (http only with ACSGW_ALLOW_INSECURE_HTTP)"));
            }
            _ => return Err(InvalidValue::new("must be an https URL")),
        }
        match url.host() {
            None | Some(url::Host::Domain("")) => return Err(InvalidValue::new("must name a host")),
            // The URL standard lets `&`, `'`, `;` and more into a host (and IDNA maps e.g. U+037E to
            // `;`); no DNS name holds them, and a `;` would split a connection string printed back.
            Some(url::Host::Domain(name)) if !name.bytes().all(is_dns_name_byte) => {
                return Err(InvalidValue::new(
                    "must name a DNS host (letters, digits, '-', '_' and '.') or an IP address",
                ));
            }
            Some(_) => {}
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new("must not carry credentials"));
        }
        if url.fragment().is_some() {
            return Err(InvalidValue::new("must not have a fragment"));
        }
        // The normal form too: IDNA and percent-encoding can make it longer than what was sent, and it
        // is what is stored and parsed again.
        if value.len() > 2048 || url.as_str().len() > 2048 {
            return Err(InvalidValue::new("must be at most 2048 characters"));
        }
        Ok(Self(url))
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }
}

fn is_dns_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.')
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl serde::Serialize for ServiceUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ServiceUrl {
    /// Stored values were checked when written; the transport is enforced again when they are used.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value, Transport::AllowInsecureHttp).map_err(serde::de::Error::custom)
    }
}

/// An ACS resource endpoint: scheme and authority only, kept without a trailing slash
/// (`https://contoso.communication.azure.com`), as the SDKs sign it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsEndpoint(String);

impl AcsEndpoint {
    pub fn parse(value: &str, transport: Transport) -> Result<Self, InvalidValue> {
        let url = ServiceUrl::parse(value, transport)?;
        let url = url.as_url();
        if url.path() != "/" || url.query().is_some() {
            return Err(InvalidValue::new("must be the resource's base URL, without path or query"));
        }
        let mut endpoint = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        if let Some(port) = url.port() {
            endpoint.push_str(&format!(":{port}"));
        }
        Ok(Self(endpoint))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for AcsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acs_endpoints_lose_their_trailing_slash_and_keep_a_non_default_port() {
        let parse = |s| AcsEndpoint::parse(s, Transport::AllowInsecureHttp).unwrap();
        assert_eq!(
            parse("https://contoso.communication.azure.com/").as_str(),
            "https://contoso.communication.azure.com"
        );
        assert_eq!(parse("http://127.0.0.1:8443").as_str(), "http://127.0.0.1:8443");
        assert_eq!(parse("https://x.example:443/").as_str(), "https://x.example");
    }

    #[test]
    fn acs_endpoints_with_a_path_query_credentials_or_plain_http_are_refused() {
        let https_only = |s| AcsEndpoint::parse(s, Transport::HttpsOnly);
        assert!(https_only("http://contoso.communication.azure.com").is_err());
        assert!(https_only("https://contoso.communication.azure.com/identities").is_err());
        assert!(https_only("https://contoso.communication.azure.com/?a=b").is_err());
        assert!(https_only("https://user:pw@contoso.communication.azure.com").is_err());
        assert!(https_only("ftp://contoso.communication.azure.com").is_err());
        assert!(https_only("contoso.communication.azure.com").is_err());
    }

    #[test]
    fn a_url_whose_normal_form_exceeds_2048_characters_is_refused_however_short_it_was_sent() {
        // Found by the connection_string fuzz target: IDNA writes each `ü` label as `xn--tda`, so an
        // endpoint of 1811 characters was accepted, stored as 4811, and refused when read back.
        let sent = format!("https://{}com", "ü.".repeat(600));
        assert!(sent.len() <= 2048);
        let too_long = InvalidValue::new("must be at most 2048 characters");
        assert_eq!(ServiceUrl::parse(&sent, Transport::HttpsOnly).unwrap_err(), too_long);
        assert_eq!(AcsEndpoint::parse(&sent, Transport::HttpsOnly).unwrap_err(), too_long);
    }

    #[test]
    fn a_host_with_characters_no_dns_name_holds_is_refused() {
        // Found by the connection_string fuzz target: `\u{37e}` (Greek question mark) is `;` after
        // IDNA, so the stored endpoint split the connection string it was printed back into.
        let refused =
            InvalidValue::new("must name a DNS host (letters, digits, '-', '_' and '.') or an IP address");
        for host in ["a\u{37e}b.example", "a&b.example", "it's.example", "a;b.example"] {
            let sent = format!("https://{host}");
            assert_eq!(AcsEndpoint::parse(&sent, Transport::HttpsOnly).unwrap_err(), refused, "{host}");
            assert_eq!(ServiceUrl::parse(&sent, Transport::HttpsOnly).unwrap_err(), refused, "{host}");
        }
        for host in ["xn--tda.example", "acs_emulator", "127.0.0.1:8443", "[::1]:8443"] {
            assert!(AcsEndpoint::parse(&format!("http://{host}"), Transport::AllowInsecureHttp).is_ok());
        }
    }

    #[test]
    fn what_parses_parses_again_from_its_own_text() {
        let sent = format!("https://{}com/a%2fb?q=ü", "ü.".repeat(200));
        let url = ServiceUrl::parse(&sent, Transport::HttpsOnly).unwrap();
        assert_eq!(ServiceUrl::parse(url.as_str(), Transport::HttpsOnly), Ok(url));
        let endpoint =
            AcsEndpoint::parse(&format!("https://{}com", "ü.".repeat(200)), Transport::HttpsOnly).unwrap();
        assert_eq!(AcsEndpoint::parse(endpoint.as_str(), Transport::HttpsOnly), Ok(endpoint));
    }

    #[test]
    fn service_urls_keep_their_path_but_refuse_fragments() {
        let url = ServiceUrl::parse("https://auth.contoso.com/keys?x=1", Transport::HttpsOnly).unwrap();
        assert_eq!(url.as_str(), "https://auth.contoso.com/keys?x=1");
        assert!(ServiceUrl::parse("https://auth.contoso.com/#frag", Transport::HttpsOnly).is_err());
    }
}
