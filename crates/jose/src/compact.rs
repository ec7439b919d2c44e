//! The compact serialization of a JWS (RFC 7515 section 7.1): three segments joined by dots. Cutting a
//! token decodes nothing, so each caller decodes and checks the segments in the order its rules want.

/// A token cut into its segments, none of them decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compact<'a> {
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
}

/// Cuts `token` into exactly three segments; the error says why not in plain words (five segments are
/// named as JWE, which is never accepted).
pub fn split(token: &str) -> Result<Compact<'_>, &'static str> {
    let segments: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = segments.as_slice() else {
        return Err(if segments.len() == 5 {
            "encrypted tokens (JWE) are not accepted"
        } else {
            "not three segments"
        });
    };
    Ok(Compact { header, payload, signature, signing_input: &token[..token.len() - signature.len() - 1] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_segments_are_cut_and_the_signing_input_is_header_and_payload() {
        let compact = split("aGVhZGVy.cGF5bG9hZA.c2ln").unwrap();
        assert_eq!(compact.header, "aGVhZGVy");
        assert_eq!(compact.payload, "cGF5bG9hZA");
        assert_eq!(compact.signature, "c2ln");
        assert_eq!(compact.signing_input, "aGVhZGVy.cGF5bG9hZA");
    }

    #[test]
    fn empty_segments_are_cut_but_not_judged() {
        let compact = split("..").unwrap();
        assert_eq!(
            (compact.header, compact.payload, compact.signature, compact.signing_input),
            ("", "", "", ".")
        );
    }

    #[test]
    fn anything_but_three_segments_is_refused_and_jwe_is_named() {
        for token in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e.f"] {
            assert_eq!(split(token), Err("not three segments"), "{token}");
        }
        assert_eq!(split("a.b.c.d.e"), Err("encrypted tokens (JWE) are not accepted"));
    }
}
