//! base64url as RFC 7515 uses it, with no leniency: no padding, no whitespace, no standard alphabet,
//! and only the canonical encoding (non-zero trailing bits would let two strings mean the same bytes).

use base64::{
    Engine,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};

const STRICT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// The segment is not canonical unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBase64Url;

pub fn decode(segment: &str) -> Result<Vec<u8>, NotBase64Url> {
    STRICT_URL_SAFE.decode(segment).map_err(|_| NotBase64Url)
}

pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STRICT_URL_SAFE.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_it_encodes_decodes_to_the_same_bytes() {
        let bytes = [0xfbu8, 0xff, 0x00, 0x7b];
        assert_eq!(encode(bytes), "-_8Aew");
        assert_eq!(decode(&encode(bytes)), Ok(bytes.to_vec()));
    }

    #[test]
    fn padding_whitespace_and_the_standard_alphabet_are_refused() {
        assert_eq!(decode("e30="), Err(NotBase64Url));
        assert_eq!(decode("e30 "), Err(NotBase64Url));
        assert_eq!(decode(" e30"), Err(NotBase64Url));
        assert!(decode("ab+/").is_err(), "the standard alphabet is not base64url");
    }

    #[test]
    fn non_zero_trailing_bits_are_refused() {
        // "e30" is `{}`; "e31" decodes to the same bytes with non-zero trailing bits.
        assert!(decode("e30").is_ok());
        assert!(decode("e31").is_err(), "non-zero trailing bits");
    }
}
