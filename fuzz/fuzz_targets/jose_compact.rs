//! jose's strict building blocks on arbitrary input: compact JWS splitting, canonical base64url,
//! duplicate-free JSON objects, the header rules, the lifetime check and RSA JWKs. Nothing panics,
//! what is accepted is canonical (it encodes back to the very same text), and an accepted header or
//! lifetime meets every rule.

#![no_main]

use jose::{
    base64url, compact,
    header::{self, HeaderRules, Kid, Typ},
    json, jwk,
    lifetime::{self, CountedFrom, Lifetime, LifetimeRules},
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    json_object(data);
    base64url_round_trip(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    split(text);
    for segment in text.split('.') {
        canonical_base64url(segment);
    }
    if let Ok(parts) = compact::split(text) {
        token(parts.header, parts.payload);
    }
    if let Ok(jwk) = serde_json::from_slice::<jwk::Jwk>(data) {
        // Any published key is judged without panicking, whatever its modulus and exponent.
        let _ = jwk.rs256_key();
    }
    if jwk::is_opaque_kid(text) {
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text:?}");
    }
});

/// Exactly three segments, which join back into the token; the signing input is `header.payload`.
fn split(token: &str) {
    let dots = token.matches('.').count();
    match compact::split(token) {
        Ok(parts) => {
            assert_eq!(dots, 2, "{token:?}");
            assert_eq!(format!("{}.{}.{}", parts.header, parts.payload, parts.signature), token);
            assert_eq!(parts.signing_input, format!("{}.{}", parts.header, parts.payload));
        }
        Err(why) => {
            assert_ne!(dots, 2, "{token:?}");
            assert_eq!(why == "encrypted tokens (JWE) are not accepted", dots == 4, "{token:?}");
        }
    }
}

const RULES: [HeaderRules<'static>; 2] = [
    HeaderRules { algorithm: "RS256", typ: Typ::Jwt, kid: Kid::Required },
    HeaderRules { algorithm: "HS256", typ: Typ::JwtOrAccessToken, kid: Kid::Optional },
];

/// The header rules and the lifetime check, as a validator applies them to a token's segments.
fn token(header: &str, payload: &str) {
    let Ok(header) = header::decode_segment::<&str>(header).and_then(|h| header::object(&h, "twice")) else {
        return;
    };
    for rules in &RULES {
        if let Ok(kid) = header::check::<&str>(&header, rules) {
            assert!(header::FORBIDDEN.iter().all(|name| !header.contains_key(*name)));
            assert_eq!(header.get("alg").and_then(Value::as_str), Some(rules.algorithm));
            assert!(kid.is_some() || rules.kid == Kid::Optional);
            assert!(kid.is_none_or(jwk::is_opaque_kid));
        }
    }
    let Ok(claims) = header::decode_segment::<&str>(payload).and_then(|p| header::object(&p, "twice")) else {
        return;
    };
    let date = |name| lifetime::numeric_date::<&str>(&claims, name);
    let (Ok(not_before), Ok(issued_at), Ok(Some(expires_at))) = (date("nbf"), date("iat"), date("exp"))
    else {
        return;
    };
    let lifetime = Lifetime { not_before, issued_at, expires_at };
    for now in [i64::MIN, -1, 0, 1_700_000_000, i64::MAX, expires_at, not_before.unwrap_or_default()] {
        for counted_from in [CountedFrom::Start, CountedFrom::StartOrNowWhicheverIsEarlier] {
            let rules = LifetimeRules { leeway: 60, max_lifetime: 28 * 3600, counted_from };
            if lifetime.check::<&str>(now, &rules) == Ok(()) {
                assert!(now <= expires_at.saturating_add(60), "accepted after expiry");
                assert!(not_before.is_none_or(|nbf| nbf <= now.saturating_add(60)), "accepted before nbf");
                assert!(issued_at.is_none_or(|iat| iat <= now.saturating_add(60)), "accepted before iat");
            }
        }
    }
}

/// A segment that decodes is the one encoding of its bytes.
fn canonical_base64url(segment: &str) {
    if let Ok(bytes) = base64url::decode(segment) {
        assert_eq!(base64url::encode(&bytes), segment);
    }
}

fn base64url_round_trip(data: &[u8]) {
    let encoded = base64url::encode(data);
    assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{encoded}");
    assert_eq!(base64url::decode(&encoded).as_deref(), Ok(data));
}

/// Agrees with serde_json's own (lenient) reading: an object it accepts is the same object, and one
/// it refuses as invalid serde_json refuses too. What it accepts serialises to JSON it accepts again.
fn json_object(data: &[u8]) {
    let lenient = serde_json::from_slice::<Map<String, Value>>(data);
    match json::object(data) {
        Ok(object) => {
            let lenient = lenient.expect("serde_json reads what jose::json accepts");
            assert_eq!(object.len(), lenient.len());
            assert!(object.iter().all(|(k, v)| lenient.get(k) == Some(v)));
            // Same members again (values may move by a float's last bit: serde_json's default parsing).
            let again = serde_json::to_vec(&object).expect("a JSON object serialises");
            let again = json::object(&again).expect("what jose::json accepted, serialised, is accepted");
            assert!(again.keys().eq(object.keys()));
        }
        // Reported as soon as it is met, so the rest may be anything: serde_json has no say.
        Err(json::NotAnObject::Duplicate) => {}
        Err(json::NotAnObject::Invalid) => {
            assert!(lenient.is_err(), "jose::json refused an object serde_json reads: {data:?}");
        }
    }
}
