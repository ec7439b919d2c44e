//! The bearer token as the policies receive it: present, bounded and of the RFC 6750 `b64token`
//! syntax, so nothing huge is decoded and nothing odd is forwarded in a webhook header.

use crate::{AuthzError, Check};

/// Vendor tokens are a few KiB; anything far larger is refused before any work.
pub const MAX_BEARER_BYTES: usize = 16 * 1024;

/// B, or why the request has no usable one.
pub fn require(bearer: Option<&str>) -> Result<&str, AuthzError> {
    let token = bearer.filter(|b| !b.is_empty()).ok_or(AuthzError::Missing)?;
    if token.len() > MAX_BEARER_BYTES {
        return Err(Check::Malformed("too large").into());
    }
    if !is_b64token(token) {
        return Err(Check::Malformed("not a bearer token").into());
    }
    Ok(token)
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_empty_bearers_are_missing() {
        assert_eq!(require(None), Err(AuthzError::Missing));
        assert_eq!(require(Some("")), Err(AuthzError::Missing));
    }

    #[test]
    fn jwts_and_opaque_tokens_are_accepted() {
        assert_eq!(require(Some("eyJh.eyJz.c2ln")), Ok("eyJh.eyJz.c2ln"));
        assert_eq!(require(Some("opaque+token/42==")), Ok("opaque+token/42=="));
    }

    #[test]
    fn whitespace_control_characters_and_huge_tokens_are_malformed() {
        for bad in ["a b", "a\r\nX-Injected: 1", "Bearer\tx", "==", "é"] {
            assert_eq!(require(Some(bad)).map_err(|e| e.reason()), Err("malformed"), "{bad:?}");
        }
        let huge = "a".repeat(MAX_BEARER_BYTES + 1);
        assert_eq!(require(Some(&huge)), Err(Check::Malformed("too large").into()));
    }
}
