//! The ACS connection-string parser on arbitrary text (the first byte chooses the transport).
//!
//! Invariants: no panic; a refusal never echoes the access key (it is the same with any other key as
//! valid); what is accepted prints back as a connection string that parses to the same endpoint and
//! key, its endpoint is a base URL that parses to itself, and a request URL built on it signs exactly
//! that host.

#![no_main]

use acsgw_fuzz::mask_access_keys;
use base64::{Engine, engine::general_purpose::STANDARD};
use libfuzzer_sys::fuzz_target;
use registry::domain::{AcsEndpoint, ConnectionString, Transport};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let transport = if mode & 1 == 0 { Transport::HttpsOnly } else { Transport::AllowInsecureHttp };
    match ConnectionString::parse(text, transport) {
        Ok(parsed) => accepted(&parsed, transport),
        Err(error) => {
            // The same refusal with every access key replaced by one as valid: it cannot echo them.
            let masked = ConnectionString::parse(&mask_access_keys(text), transport).map(|_| ());
            assert_eq!(masked, Err(error), "the refusal depends on the access key");
        }
    }
});

fn accepted(parsed: &ConnectionString, transport: Transport) {
    let key = parsed.access_key.expose();
    let encoded = STANDARD.encode(key);
    if encoded.len() >= 16 {
        assert!(!format!("{parsed:?}").contains(&encoded), "Debug prints the access key");
    }

    let endpoint = parsed.endpoint.as_str();
    assert!(!endpoint.ends_with('/'), "{endpoint}");
    assert_eq!(AcsEndpoint::parse(endpoint, transport).as_ref(), Ok(&parsed.endpoint));

    let printed = format!("endpoint={endpoint};accesskey={encoded}");
    let again = ConnectionString::parse(&printed, transport)
        .unwrap_or_else(|e| panic!("{printed:?} does not parse again: {e}"));
    assert_eq!(again.endpoint, parsed.endpoint);
    assert_eq!(again.access_key.expose(), key);

    // The ACS client appends its paths to the endpoint and signs the URL's authority.
    let url = url::Url::parse(&format!("{endpoint}/teamsUser/:exchangeAccessToken?api-version=2023-10-01"))
        .unwrap_or_else(|e| panic!("no request URL on {endpoint}: {e}"));
    let (_, authority) = endpoint.split_once("://").expect("a scheme");
    assert_eq!(acs::signing::signed_host(&url), authority);
}
