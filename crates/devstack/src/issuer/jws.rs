//! JWS compact serialisation, done by hand rather than with `jsonwebtoken::encode`.
//!
//! Tests need tokens a well-behaved library refuses to produce: a header whose `alg` label disagrees
//! with the real signature, headers carrying `crit`/`jku`, unsigned `alg: none` tokens. So the header
//! and claims are arbitrary JSON objects here and the signature is made separately.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use super::keys::IssuerKey;

/// How the token is signed, whatever its header says.
#[derive(Clone, Copy)]
pub enum Signature<'a> {
    /// RS256 with this key.
    Rs256(&'a IssuerKey),
    /// No signature: the token ends with an empty third segment, as `alg: none` tokens do.
    Empty,
}

/// `base64url(header) . base64url(claims) . base64url(signature)`.
pub fn encode(header: &Map<String, Value>, claims: &Map<String, Value>, signature: Signature<'_>) -> String {
    let signing_input = format!("{}.{}", segment(header), segment(claims));
    let signature = match signature {
        Signature::Rs256(key) => URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes())),
        Signature::Empty => String::new(),
    };
    format!("{signing_input}.{signature}")
}

fn segment(object: &Map<String, Value>) -> String {
    // Serialising a map of JSON values cannot fail; `Value::to_string` makes that explicit.
    URL_SAFE_NO_PAD.encode(Value::Object(object.clone()).to_string())
}

/// The header Entra puts on its tokens: `typ`, `alg RS256`, `kid`, and for v1 tokens the legacy
/// `x5t` with the same value.
pub fn entra_header(kid: &str, with_x5t: bool) -> Map<String, Value> {
    let mut header = Map::new();
    header.insert("typ".to_owned(), Value::from("JWT"));
    header.insert("alg".to_owned(), Value::from("RS256"));
    if with_x5t {
        header.insert("x5t".to_owned(), Value::from(kid));
    }
    header.insert("kid".to_owned(), Value::from(kid));
    header
}

/// Applies caller overrides to a header or claim set: each member is set, or removed when `null`.
pub fn apply_overrides(target: &mut Map<String, Value>, overrides: &Map<String, Value>) {
    for (name, value) in overrides {
        if value.is_null() {
            target.remove(name);
        } else {
            target.insert(name.clone(), value.clone());
        }
    }
}
