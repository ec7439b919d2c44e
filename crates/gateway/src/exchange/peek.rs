//! A best-effort look into a token the validator refused, for the log line that explains the refusal
//! (entra-validation.md, "error oracle": log `uti`, `kid`, `tid` and `ver`, never the token). Nothing
//! here is trusted or used for a decision: the signature is not checked, errors are ignored, sizes are
//! capped, and only short values of harmless characters are kept. It is lenient on purpose where the
//! `jose` crate is strict: the tokens worth describing are exactly the ones that broke a rule.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// Segments longer than this are not decoded (a real header or payload is well under 8 KiB).
const MAX_SEGMENT: usize = 8 * 1024;
/// Longer values are not logged; real ones are a GUID or a short base64url string.
const MAX_VALUE: usize = 64;

/// What a token says about itself, unverified. `None` when absent, malformed or suspicious.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Peeked {
    pub uti: Option<String>,
    pub kid: Option<String>,
    pub tid: Option<String>,
    pub ver: Option<String>,
}

pub fn peek(token: &str) -> Peeked {
    let mut segments = token.split('.');
    let header = segments.next().and_then(object);
    let payload = segments.next().and_then(object);
    let claim =
        |object: &Option<Map<String, Value>>, name: &str| object.as_ref().and_then(|o| value(o, name));
    Peeked {
        uti: claim(&payload, "uti"),
        kid: claim(&header, "kid"),
        tid: claim(&payload, "tid"),
        ver: claim(&payload, "ver"),
    }
}

fn object(segment: &str) -> Option<Map<String, Value>> {
    if segment.len() > MAX_SEGMENT {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn value(object: &Map<String, Value>, name: &str) -> Option<String> {
    let text = object.get(name)?.as_str()?;
    let harmless = |c: char| c.is_ascii_alphanumeric() || "-_.:+/=".contains(c);
    (!text.is_empty() && text.len() <= MAX_VALUE && text.chars().all(harmless)).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn the_logged_claims_are_read_without_checking_anything() {
        let header = serde_json::json!({"alg": "RS256", "kid": "abc_DEF-1"});
        let payload = serde_json::json!({"uti": "Xy9_z", "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "ver": "1.0", "oid": "secret-ish"});
        let token = format!("{}.{}.bad-signature", segment(&header), segment(&payload));
        assert_eq!(
            peek(&token),
            Peeked {
                uti: Some("Xy9_z".into()),
                kid: Some("abc_DEF-1".into()),
                tid: Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
                ver: Some("1.0".into()),
            }
        );
    }

    #[test]
    fn garbage_odd_values_and_huge_segments_yield_nothing() {
        assert_eq!(peek("not a token"), Peeked::default());
        assert_eq!(peek(""), Peeked::default());
        let header = serde_json::json!({"kid": "../../etc/passwd\n", "alg": "none"});
        let payload = serde_json::json!({"uti": "x".repeat(65), "tid": 7, "ver": "1.0 \u{1b}[31m"});
        assert_eq!(peek(&format!("{}.{}.", segment(&header), segment(&payload))), Peeked::default());
        let huge = serde_json::json!({"uti": "ok", "pad": "p".repeat(MAX_SEGMENT)});
        assert_eq!(peek(&format!("e30.{}.x", segment(&huge))).uti, None);
    }
}
