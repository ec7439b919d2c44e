//! Compact JWS parsing with no leniency: exactly three segments, canonical base64url, UTF-8 JSON
//! objects without duplicate members, the one algorithm the policy allows, and a header that names
//! at most a key id (key material, URLs and critical extensions in a header are never honoured).

use jose::{
    compact,
    header::{self, HeaderRules, Kid, Typ},
    json::JsonObject,
};

use crate::Check;

/// What a member named twice is called, in the header or the claims.
const TWICE: &str = "a member appears twice";

/// A token split and decoded, not yet verified.
#[derive(Debug)]
pub struct Jws<'a> {
    pub kid: Option<String>,
    pub claims: JsonObject,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    /// The signature segment, checked to be canonical base64url.
    pub signature: &'a str,
}

/// Parses `token`, whose header must name `alg` (the policy's algorithm, never the token's choice);
/// `typ`, when present, is a JWT or access-token type, and the kid is optional but opaque.
pub fn parse<'a>(token: &'a str, alg: &str) -> Result<Jws<'a>, Check> {
    let rules = HeaderRules { algorithm: alg, typ: Typ::JwtOrAccessToken, kid: Kid::Optional };
    let compact = compact::split(token).map_err(Check::Malformed)?;
    let header = header::object(&decode_segment(compact.header)?, TWICE)?;
    let kid = header::check(&header, &rules)?.map(str::to_owned);
    if compact.signature.is_empty() {
        return Err(Check::Signature);
    }
    decode_segment(compact.signature)?;
    let claims = header::object(&decode_segment(compact.payload)?, TWICE)?;
    Ok(Jws { kid, claims, signing_input: compact.signing_input, signature: compact.signature })
}

/// A segment's bytes, if it is canonical base64url.
pub fn decode_segment(segment: &str) -> Result<Vec<u8>, Check> {
    header::decode_segment(segment)
}

#[cfg(test)]
mod tests {
    use jose::base64url;

    use super::*;

    fn b64(json: &str) -> String {
        base64url::encode(json)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(claims), base64url::encode([1u8; 32]))
    }

    const HEADER: &str = r#"{"typ":"JWT","alg":"HS256","kid":"k1"}"#;

    #[test]
    fn a_well_formed_token_parses_with_its_kid_and_claims() {
        let t = token(HEADER, r#"{"sub":"x","nested":{"a":[1,2]}}"#);
        let jws = parse(&t, "HS256").unwrap();
        assert_eq!(jws.kid.as_deref(), Some("k1"));
        assert_eq!(jws.claims["sub"], "x");
        assert_eq!(format!("{}.{}", jws.signing_input, jws.signature), t);
    }

    #[test]
    fn the_kid_is_optional_but_must_be_opaque_when_present() {
        assert_eq!(parse(&token(r#"{"alg":"HS256"}"#, "{}"), "HS256").unwrap().kid, None);
        for kid in ["../../etc/passwd", "k1' OR 1=1 --", "https://evil.example/key", "", &"k".repeat(129)] {
            let header = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
            assert!(matches!(parse(&token(&header, "{}"), "HS256"), Err(Check::Header(_))), "{kid}");
        }
    }

    #[test]
    fn only_the_policys_algorithm_is_accepted_whatever_the_header_says() {
        for alg in [r#""none""#, r#""RS256""#, r#""ES256""#, r#""hs256""#, "null", "1"] {
            let header = format!(r#"{{"alg":{alg}}}"#);
            assert_eq!(parse(&token(&header, "{}"), "HS256").unwrap_err(), Check::Algorithm, "{alg}");
        }
    }

    #[test]
    fn duplicate_members_are_refused_in_header_and_claims() {
        assert!(parse(&token(r#"{"alg":"HS256","alg":"none"}"#, "{}"), "HS256").is_err());
        let error = parse(&token(HEADER, r#"{"oid":"a","oid":"b"}"#), "HS256").unwrap_err();
        assert_eq!(error, Check::Malformed("a member appears twice"));
    }

    #[test]
    fn padding_whitespace_and_non_canonical_base64url_are_refused() {
        let good = token(HEADER, "{}");
        let (h, rest) = good.split_once('.').unwrap();
        assert!(parse(&format!("{h}=.{rest}"), "HS256").is_err());
        assert!(parse(&format!("{h} .{rest}"), "HS256").is_err());
        // "e31" decodes to `{}` with non-zero trailing bits (the rest is in jose::base64url).
        assert_eq!(decode_segment("e31"), Err(Check::Malformed("not canonical base64url")));
    }

    #[test]
    fn anything_but_three_segments_or_an_empty_signature_is_refused() {
        assert_eq!(parse("a.b", "HS256").unwrap_err(), Check::Malformed("not three segments"));
        assert_eq!(
            parse("a.b.c.d.e", "HS256").unwrap_err(),
            Check::Malformed("encrypted tokens (JWE) are not accepted")
        );
        assert_eq!(parse(&format!("{}.{}.", b64(HEADER), b64("{}")), "HS256").unwrap_err(), Check::Signature);
    }

    #[test]
    fn header_key_material_indirection_and_critical_extensions_are_refused() {
        for extra in [
            r#""jku":"https://evil.example/keys""#,
            r#""x5u":"https://evil.example/cert""#,
            r#""jwk":{"kty":"oct"}"#,
            r#""x5c":["MIIB"]"#,
            r#""crit":["exp"]"#,
            r#""cty":"JWT""#,
            r#""zip":"DEF""#,
        ] {
            let header = format!(r#"{{"alg":"HS256",{extra}}}"#);
            assert!(matches!(parse(&token(&header, "{}"), "HS256"), Err(Check::Header(_))), "{extra}");
        }
    }

    #[test]
    fn jwt_and_access_token_types_are_accepted_and_others_refused() {
        for typ in ["JWT", "jwt", "at+jwt", "application/at+JWT"] {
            let header = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
            assert!(parse(&token(&header, "{}"), "HS256").is_ok(), "{typ}");
        }
        let header = r#"{"alg":"HS256","typ":"dpop+jwt"}"#;
        assert!(matches!(parse(&token(header, "{}"), "HS256"), Err(Check::Header(_))));
    }

    #[test]
    fn payloads_that_are_not_json_objects_are_refused() {
        for claims in ["[]", "\"x\"", "{", "{} {}", "\u{FEFF}{}"] {
            assert!(parse(&token(HEADER, claims), "HS256").is_err(), "{claims}");
        }
        let bad_utf8 = format!("{}.{}.{}", b64(HEADER), base64url::encode([0x7b, 0xff, 0x7d]), "AQ");
        assert!(parse(&bad_utf8, "HS256").is_err());
    }
}
