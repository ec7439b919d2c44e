//! Compact JWS parsing with no leniency: bounded size, exactly three segments, canonical base64url,
//! UTF-8 JSON objects without duplicate members, and a header that names its key and nothing else.

use jose::{
    compact,
    header::{self, HeaderRules, Kid, Typ, decode_segment},
    json::JsonObject,
};

use crate::Rejection;

/// Entra access tokens are a few KiB; anything far larger is refused before decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// RS256 only, `typ` exactly `JWT` when present, and a key id to look the key up by.
const RULES: HeaderRules<'static> = HeaderRules { algorithm: "RS256", typ: Typ::Jwt, kid: Kid::Required };

/// What a member named twice is called: in either segment, a claim appearing twice.
const TWICE: &str = "a claim appears twice";

/// Claims whose meaning must not depend on letter case (a parser differential with ACS).
const CASE_SENSITIVE_CLAIMS: &[&str] =
    &["tid", "oid", "appid", "azp", "aud", "iss", "ver", "scp", "idtyp", "roles"];

/// A token split and decoded, not yet verified.
#[derive(Debug)]
pub struct Jws<'a> {
    pub kid: String,
    pub claims: JsonObject,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: &'a str,
}

/// Section 1.5 in order: step 1 (structure) for every segment, then step 2 (the header), so a
/// token bad in both ways is reported for its structure whichever segment is broken.
pub fn parse(token: &str) -> Result<Jws<'_>, Rejection> {
    // Step 1: size, three segments, strict base64url everywhere, JSON objects, no duplicate names.
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::Malformed("too large"));
    }
    let compact = compact::split(token).map_err(Rejection::Malformed)?;
    let header_bytes = decode_segment(compact.header)?;
    let payload_bytes = decode_segment(compact.payload)?;
    decode_segment::<&str>(compact.signature)?;
    let header = header::object(&header_bytes, TWICE)?;
    let claims = header::object(&payload_bytes, TWICE)?;
    check_claim_names(&claims)?;
    // Step 2: the header names RS256 and its key, and nothing else.
    let kid = header::check(&header, &RULES)?.unwrap_or_default().to_owned();
    if compact.signature.is_empty() {
        return Err(Rejection::Signature);
    }
    Ok(Jws { kid, claims, signing_input: compact.signing_input, signature: compact.signature })
}

fn check_claim_names(claims: &JsonObject) -> Result<(), Rejection> {
    for name in CASE_SENSITIVE_CLAIMS {
        let spellings = claims.keys().filter(|k| k.eq_ignore_ascii_case(name)).count();
        if spellings > 1 {
            return Err(Rejection::Malformed(TWICE));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use jose::base64url;

    use super::*;

    fn b64(json: &str) -> String {
        base64url::encode(json)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(claims), base64url::encode([1u8; 256]))
    }

    const HEADER: &str = r#"{"typ":"JWT","alg":"RS256","kid":"k1"}"#;

    #[test]
    fn a_well_formed_token_parses_with_its_kid_and_claims() {
        let t = token(HEADER, r#"{"oid":"x","nested":{"a":[1,2]}}"#);
        let jws = parse(&t).unwrap();
        assert_eq!(jws.kid, "k1");
        assert_eq!(jws.claims["oid"], "x");
        assert_eq!(format!("{}.{}", jws.signing_input, jws.signature), t);
    }

    #[test]
    fn duplicate_members_are_refused_in_header_and_claims() {
        assert!(parse(&token(r#"{"alg":"RS256","kid":"a","kid":"b"}"#, "{}")).is_err());
        let error = parse(&token(HEADER, r#"{"oid":"a","oid":"b"}"#)).unwrap_err();
        assert_eq!(error, Rejection::Malformed("a claim appears twice"));
        let error = parse(&token(HEADER, r#"{"tid":"a","TID":"b"}"#)).unwrap_err();
        assert_eq!(error, Rejection::Malformed("a claim appears twice"));
    }

    #[test]
    fn padding_whitespace_and_non_canonical_base64url_are_refused() {
        let good = token(HEADER, "{}");
        let (h, rest) = good.split_once('.').unwrap();
        assert!(parse(&format!("{h}=.{rest}")).is_err());
        assert!(parse(&format!("{h} .{rest}")).is_err());
        // "e31" decodes to `{}` with non-zero trailing bits (the rest is in jose::base64url).
        assert_eq!(
            parse(&format!("e31.{rest}")).unwrap_err(),
            Rejection::Malformed("not canonical base64url")
        );
    }

    #[test]
    fn anything_but_three_segments_is_refused_and_jwe_is_named() {
        assert_eq!(parse("a.b").unwrap_err(), Rejection::Malformed("not three segments"));
        assert_eq!(
            parse("a.b.c.d.e").unwrap_err(),
            Rejection::Malformed("encrypted tokens (JWE) are not accepted")
        );
        assert_eq!(parse(&format!("{}.{}.", b64(HEADER), b64("{}"))).unwrap_err(), Rejection::Signature);
    }

    #[test]
    fn oversized_tokens_are_refused_before_decoding() {
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(parse(&huge).unwrap_err(), Rejection::Malformed("too large"));
    }

    #[test]
    fn only_rs256_is_accepted_whatever_the_header_says() {
        for alg in [r#""none""#, r#""HS256""#, r#""ES256""#, r#""PS256""#, r#""rs256""#, "null"] {
            let header = format!(r#"{{"alg":{alg},"kid":"k1"}}"#);
            assert_eq!(parse(&token(&header, "{}")).unwrap_err(), Rejection::Algorithm, "{alg}");
        }
    }

    #[test]
    fn header_key_material_indirection_and_critical_extensions_are_refused() {
        for extra in [
            r#""jku":"https://evil.example/keys""#,
            r#""x5u":"https://evil.example/cert""#,
            r#""jwk":{"kty":"RSA"}"#,
            r#""x5c":["MIIB"]"#,
            r#""crit":["exp"]"#,
            r#""cty":"JWT""#,
            r#""zip":"DEF""#,
            r#""enc":"A256GCM""#,
        ] {
            let header = format!(r#"{{"alg":"RS256","kid":"k1",{extra}}}"#);
            assert!(matches!(parse(&token(&header, "{}")), Err(Rejection::Header(_))), "{extra}");
        }
    }

    #[test]
    fn kids_must_be_short_opaque_identifiers() {
        for kid in ["../../etc/passwd", "k1' OR 1=1 --", "https://evil.example/key", "", &"k".repeat(129)] {
            let header = serde_json::json!({"alg": "RS256", "kid": kid}).to_string();
            assert!(matches!(parse(&token(&header, "{}")), Err(Rejection::Header(_))), "{kid}");
        }
        let header = r#"{"alg":"RS256"}"#;
        assert_eq!(parse(&token(header, "{}")).unwrap_err(), Rejection::Header("kid is missing"));
    }

    #[test]
    fn payloads_that_are_not_json_objects_are_refused() {
        for claims in ["[]", "\"x\"", "{", "{} {}", "\u{FEFF}{}"] {
            assert!(parse(&token(HEADER, claims)).is_err(), "{claims}");
        }
        let bad_utf8 = format!("{}.{}.{}", b64(HEADER), base64url::encode([0x7b, 0xff, 0x7d]), "AQ");
        assert!(parse(&bad_utf8).is_err());
    }
}
