//! The rules every compact JWS we read is held to before its signature is checked: segments that are
//! canonical base64url, JSON objects with no member named twice, and a header that names the one
//! algorithm the verifier chose and at most an opaque key id. Key material, key URLs, critical
//! extensions and nested or compressed tokens in a header are never honoured.

use serde_json::Value;

use crate::{
    Refusal, base64url,
    json::{self, JsonObject},
    jwk::is_opaque_kid,
};

/// Header parameters that carry key material, indirection or processing rules we never honour.
pub const FORBIDDEN: &[&str] = &["jku", "x5u", "jwk", "x5c", "crit", "cty", "zip", "enc"];

/// `typ` values of RFC 7519 tokens and RFC 9068 access tokens.
const JWT_TYPES: &[&str] = &["JWT", "at+jwt", "application/at+jwt"];

/// What a header's `typ`, when it has one, may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typ {
    /// Exactly `JWT`.
    Jwt,
    /// `JWT`, `at+jwt` or `application/at+jwt`, ignoring case.
    JwtOrAccessToken,
}

/// Whether a header must name its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kid {
    Required,
    Optional,
}

/// What one verifier accepts in a header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderRules<'a> {
    /// The one algorithm accepted: the verifier's choice, never the token's.
    pub algorithm: &'a str,
    pub typ: Typ,
    pub kid: Kid,
}

/// A segment's bytes, if it is canonical unpadded base64url.
pub fn decode_segment<N>(segment: &str) -> Result<Vec<u8>, Refusal<N>> {
    base64url::decode(segment).map_err(|_| Refusal::Malformed("not canonical base64url"))
}

/// A segment's JSON object; `twice` says in the caller's words what a member named twice is.
pub fn object<N>(bytes: &[u8], twice: &'static str) -> Result<JsonObject, Refusal<N>> {
    json::object(bytes).map_err(|error| match error {
        json::NotAnObject::Duplicate => Refusal::Malformed(twice),
        json::NotAnObject::Invalid => Refusal::Malformed("not a JSON object"),
    })
}

/// Checks `header` against `rules`, in order: forbidden parameters, the algorithm, `typ`, the key id.
/// Returns the key id it names, if any.
pub fn check<'h, N>(header: &'h JsonObject, rules: &HeaderRules<'_>) -> Result<Option<&'h str>, Refusal<N>> {
    if let Some(forbidden) = FORBIDDEN.iter().find(|name| header.contains_key(**name)) {
        return Err(Refusal::Header(match *forbidden {
            "crit" => "critical extensions are not accepted",
            "cty" | "zip" | "enc" => "nested or compressed tokens are not accepted",
            _ => "key material in the header is not accepted",
        }));
    }
    match header.get("alg") {
        Some(Value::String(alg)) if alg == rules.algorithm => {}
        _ => return Err(Refusal::Algorithm),
    }
    match (header.get("typ"), rules.typ) {
        (None, _) => {}
        (Some(Value::String(typ)), Typ::Jwt) if typ == "JWT" => {}
        (Some(Value::String(typ)), Typ::JwtOrAccessToken)
            if JWT_TYPES.iter().any(|accepted| accepted.eq_ignore_ascii_case(typ)) => {}
        (Some(_), Typ::Jwt) => return Err(Refusal::Header("typ must be JWT")),
        (Some(_), Typ::JwtOrAccessToken) => return Err(Refusal::Header("typ is not a JWT type")),
    }
    match (header.get("kid"), rules.kid) {
        (Some(Value::String(kid)), _) if is_opaque_kid(kid) => Ok(Some(kid)),
        (Some(_), _) => Err(Refusal::Header("kid is not an opaque key id")),
        (None, Kid::Optional) => Ok(None),
        (None, Kid::Required) => required_kid(None).map(Some),
    }
}

/// The key id, which a verifier that looks keys up by it needs.
pub fn required_kid<N>(kid: Option<&str>) -> Result<&str, Refusal<N>> {
    kid.ok_or(Refusal::Header("kid is missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RS256: HeaderRules<'static> = HeaderRules { algorithm: "RS256", typ: Typ::Jwt, kid: Kid::Required };
    const HS256: HeaderRules<'static> =
        HeaderRules { algorithm: "HS256", typ: Typ::JwtOrAccessToken, kid: Kid::Optional };

    fn header(json: &str) -> JsonObject {
        json::object(json.as_bytes()).unwrap()
    }

    fn checked(json: &str, rules: &HeaderRules<'_>) -> Result<Option<String>, Refusal> {
        check(&header(json), rules).map(|kid| kid.map(str::to_owned))
    }

    #[test]
    fn a_header_naming_the_algorithm_and_an_opaque_kid_is_accepted_with_its_kid() {
        assert_eq!(checked(r#"{"typ":"JWT","alg":"RS256","kid":"k1"}"#, &RS256), Ok(Some("k1".into())));
        assert_eq!(checked(r#"{"alg":"HS256"}"#, &HS256), Ok(None));
    }

    #[test]
    fn only_the_verifiers_algorithm_is_accepted_whatever_the_header_says() {
        for alg in [r#""none""#, r#""HS256""#, r#""ES256""#, r#""rs256""#, "null", "1"] {
            let json = format!(r#"{{"alg":{alg},"kid":"k1"}}"#);
            assert_eq!(checked(&json, &RS256), Err(Refusal::Algorithm), "{alg}");
        }
        assert_eq!(checked(r#"{"kid":"k1"}"#, &RS256), Err(Refusal::Algorithm));
    }

    #[test]
    fn key_material_indirection_critical_extensions_and_nesting_are_refused_with_their_reason() {
        let cases = [
            (r#""jku":"https://evil.example/keys""#, "key material in the header is not accepted"),
            (r#""x5u":"https://evil.example/cert""#, "key material in the header is not accepted"),
            (r#""jwk":{"kty":"RSA"}"#, "key material in the header is not accepted"),
            (r#""x5c":["MIIB"]"#, "key material in the header is not accepted"),
            (r#""crit":["exp"]"#, "critical extensions are not accepted"),
            (r#""cty":"JWT""#, "nested or compressed tokens are not accepted"),
            (r#""zip":"DEF""#, "nested or compressed tokens are not accepted"),
            (r#""enc":"A256GCM""#, "nested or compressed tokens are not accepted"),
        ];
        for (extra, why) in cases {
            let json = format!(r#"{{"alg":"RS256","kid":"k1",{extra}}}"#);
            assert_eq!(checked(&json, &RS256), Err(Refusal::Header(why)), "{extra}");
        }
    }

    #[test]
    fn forbidden_parameters_are_refused_before_the_algorithm_is_read() {
        assert_eq!(checked(r#"{"alg":"none","jku":"https://x"}"#, &RS256).unwrap_err().reason(), "header");
    }

    #[test]
    fn typ_is_exactly_jwt_or_any_jwt_type_as_the_rules_say() {
        for typ in ["JWT", "jwt", "at+jwt", "application/at+JWT"] {
            let json = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
            assert!(checked(&json, &HS256).is_ok(), "{typ}");
        }
        let lower = r#"{"alg":"RS256","kid":"k1","typ":"jwt"}"#;
        assert_eq!(checked(lower, &RS256), Err(Refusal::Header("typ must be JWT")));
        let dpop = r#"{"alg":"HS256","typ":"dpop+jwt"}"#;
        assert_eq!(checked(dpop, &HS256), Err(Refusal::Header("typ is not a JWT type")));
    }

    #[test]
    fn kids_must_be_opaque_and_present_when_required() {
        assert_eq!(checked(r#"{"alg":"RS256"}"#, &RS256), Err(Refusal::Header("kid is missing")));
        for kid in ["../../etc/passwd", "https://evil.example/key", ""] {
            let json = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
            assert_eq!(checked(&json, &HS256), Err(Refusal::Header("kid is not an opaque key id")), "{kid}");
        }
        assert_eq!(
            checked(r#"{"alg":"HS256","kid":7}"#, &HS256),
            Err(Refusal::Header("kid is not an opaque key id"))
        );
    }

    #[test]
    fn segments_must_be_canonical_base64url_objects_with_members_named_once() {
        assert_eq!(decode_segment::<&str>("e31"), Err(Refusal::Malformed("not canonical base64url")));
        let twice = object::<&str>(br#"{"a":1,"a":2}"#, "a claim appears twice");
        assert_eq!(twice, Err(Refusal::Malformed("a claim appears twice")));
        assert_eq!(object::<&str>(b"[]", "twice"), Err(Refusal::Malformed("not a JSON object")));
    }
}
