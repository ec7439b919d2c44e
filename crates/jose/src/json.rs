//! Strict JSON objects for everything read from outside (token headers and payloads, key sets,
//! webhook answers): one top-level object, nothing after it, and no member named twice. serde_json
//! alone keeps the last duplicate, and a derived struct also accepts an array; a parser differential
//! must not let one member mean two things.

use std::{collections::BTreeMap, fmt};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

pub type JsonObject = BTreeMap<String, Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnObject {
    /// A top-level member appears twice.
    Duplicate,
    /// Not UTF-8 JSON, not an object, or followed by more.
    Invalid,
}

pub fn object(bytes: &[u8]) -> Result<JsonObject, NotAnObject> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let object = deserializer.deserialize_map(UniqueKeys).map_err(|e| {
        if e.to_string().contains(DUPLICATE) { NotAnObject::Duplicate } else { NotAnObject::Invalid }
    })?;
    deserializer.end().map_err(|_| NotAnObject::Invalid)?;
    Ok(object)
}

const DUPLICATE: &str = "duplicate member";

struct UniqueKeys;

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = JsonObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
        let mut object = JsonObject::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            if object.insert(key, value).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_with_distinct_members_is_read_whole() {
        let object = object(br#"{"a":1,"b":{"c":[true]}}"#).unwrap();
        assert_eq!(object.len(), 2);
        assert_eq!(object["b"]["c"][0], true);
    }

    #[test]
    fn a_member_named_twice_is_a_duplicate() {
        assert_eq!(object(br#"{"allow":true,"allow":false}"#), Err(NotAnObject::Duplicate));
    }

    #[test]
    fn arrays_scalars_trailing_data_and_bad_utf8_are_not_objects() {
        for bytes in [&b"[true]"[..], b"true", b"", b"{} {}", b"{\"a\":1}x", b"{\xff}", b"\xef\xbb\xbf{}"] {
            assert_eq!(object(bytes), Err(NotAnObject::Invalid), "{bytes:?}");
        }
    }
}
