//! What more than one fuzz target uses.

use base64::{Engine, engine::general_purpose::STANDARD};

/// `text` (an ACS connection string) with every `accesskey` value replaced by one that decodes, does
/// not, or is empty as the original did: whatever depends on more than that depends on the key.
pub fn mask_access_keys(text: &str) -> String {
    let mask = |part: &str| -> Option<String> {
        let (key, value) = part.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("accesskey") {
            return None;
        }
        let value = value.trim();
        let masked = match STANDARD.decode(value) {
            _ if value.is_empty() => "",
            Ok(bytes) if !bytes.is_empty() => "AQ==",
            _ => "!",
        };
        Some(format!("{key}={masked}"))
    };
    text.split(';').map(|part| mask(part).unwrap_or_else(|| part.to_owned())).collect::<Vec<_>>().join(";")
}
