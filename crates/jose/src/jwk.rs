//! JSON Web Keys (RFC 7517) as verification keys: only RSA signature keys of at least 2048 bits with
//! a sane public exponent, meant for RS256 if they say what they are for.

use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use crate::base64url;

/// The members of a published key that decide whether and how it can verify RS256 signatures.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kid: Option<String>,
    pub kty: Option<String>,
    #[serde(rename = "use")]
    pub usage: Option<String>,
    pub alg: Option<String>,
    pub n: Option<String>,
    pub e: Option<String>,
}

const MIN_RSA_BITS: usize = 2048;

impl Jwk {
    /// The key for RS256 verification, or why it is not one we accept, in plain words.
    pub fn rs256_key(&self) -> Result<DecodingKey, &'static str> {
        if self.kty.as_deref() != Some("RSA") {
            return Err("not an RSA key");
        }
        if self.usage.as_deref().is_some_and(|u| u != "sig") {
            return Err("not a signature key");
        }
        if self.alg.as_deref().is_some_and(|a| a != "RS256") {
            return Err("key is for another algorithm");
        }
        let (Some(n), Some(e)) = (&self.n, &self.e) else { return Err("key has no modulus or exponent") };
        let (Ok(modulus), Ok(exponent)) = (base64url::decode(n), base64url::decode(e)) else {
            return Err("key is not base64url");
        };
        let significant: Vec<u8> = modulus.iter().copied().skip_while(|b| *b == 0).collect();
        let bits = significant.first().map_or(0, |top| significant.len() * 8 - top.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err("RSA key shorter than 2048 bits");
        }
        let exponent_value = exponent.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if exponent.len() > 4 || exponent_value < 3 || exponent_value % 2 == 0 {
            return Err("RSA exponent not accepted");
        }
        Ok(DecodingKey::from_rsa_raw_components(&modulus, &exponent))
    }
}

/// At most 128 characters of base64url's alphabet: a map key, never a path, query or URL.
pub fn is_opaque_kid(kid: &str) -> bool {
    (1..=128).contains(&kid.len()) && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A modulus of exactly `bits` significant bits (the top one set), behind `zeros` leading zero bytes.
    fn modulus(bits: usize, zeros: usize) -> String {
        let mut bytes = vec![0u8; zeros + bits.div_ceil(8)];
        bytes[zeros] = 1 << ((bits - 1) % 8);
        base64url::encode(bytes)
    }

    fn rsa(n: String, e: &[u8]) -> Jwk {
        Jwk {
            kid: Some("k1".into()),
            kty: Some("RSA".into()),
            usage: Some("sig".into()),
            alg: Some("RS256".into()),
            n: Some(n),
            e: Some(base64url::encode(e)),
        }
    }

    fn refusal(jwk: &Jwk) -> &'static str {
        jwk.rs256_key().err().unwrap_or("accepted")
    }

    #[test]
    fn an_rsa_signature_key_of_2048_bits_is_accepted() {
        assert!(rsa(modulus(2048, 0), &[1, 0, 1]).rs256_key().is_ok());
        assert!(rsa(modulus(4096, 0), &[3]).rs256_key().is_ok());
    }

    #[test]
    fn use_and_alg_may_be_left_out() {
        let jwk = Jwk { usage: None, alg: None, ..rsa(modulus(2048, 0), &[1, 0, 1]) };
        assert!(jwk.rs256_key().is_ok());
    }

    #[test]
    fn keys_of_another_type_use_or_algorithm_are_refused() {
        let good = rsa(modulus(2048, 0), &[1, 0, 1]);
        assert_eq!(refusal(&Jwk { kty: Some("EC".into()), ..good.clone() }), "not an RSA key");
        assert_eq!(refusal(&Jwk { kty: Some("rsa".into()), ..good.clone() }), "not an RSA key");
        assert_eq!(refusal(&Jwk { kty: None, ..good.clone() }), "not an RSA key");
        assert_eq!(refusal(&Jwk { usage: Some("enc".into()), ..good.clone() }), "not a signature key");
        assert_eq!(
            refusal(&Jwk { alg: Some("RS512".into()), ..good.clone() }),
            "key is for another algorithm"
        );
        assert_eq!(refusal(&Jwk { alg: Some("HS256".into()), ..good }), "key is for another algorithm");
    }

    #[test]
    fn a_modulus_or_exponent_that_is_missing_or_not_base64url_is_refused() {
        let good = rsa(modulus(2048, 0), &[1, 0, 1]);
        assert_eq!(refusal(&Jwk { n: None, ..good.clone() }), "key has no modulus or exponent");
        assert_eq!(refusal(&Jwk { e: None, ..good.clone() }), "key has no modulus or exponent");
        assert_eq!(refusal(&Jwk { e: Some("AQAB=".into()), ..good.clone() }), "key is not base64url");
        assert_eq!(refusal(&Jwk { e: Some("AQ+B".into()), ..good }), "key is not base64url");
    }

    #[test]
    fn a_modulus_shorter_than_2048_bits_is_refused_whatever_its_leading_zeros() {
        assert_eq!(refusal(&rsa(modulus(2047, 0), &[1, 0, 1])), "RSA key shorter than 2048 bits");
        assert_eq!(refusal(&rsa(modulus(2047, 1), &[1, 0, 1])), "RSA key shorter than 2048 bits");
        assert_eq!(refusal(&rsa(modulus(1024, 128), &[1, 0, 1])), "RSA key shorter than 2048 bits");
        assert_eq!(refusal(&rsa(String::new(), &[1, 0, 1])), "RSA key shorter than 2048 bits");
        assert_eq!(refusal(&rsa(modulus(2048, 3), &[1, 0, 1])), "accepted");
    }

    #[test]
    fn exponents_that_are_even_below_3_or_longer_than_4_bytes_are_refused() {
        for e in [&[][..], &[1], &[2], &[1, 0, 0], &[1, 0, 0, 0, 1]] {
            assert_eq!(refusal(&rsa(modulus(2048, 0), e)), "RSA exponent not accepted", "{e:?}");
        }
        for e in [&[3][..], &[1, 0, 1], &[0, 1, 0, 1], &[0xff, 0xff, 0xff, 0xff]] {
            assert_eq!(refusal(&rsa(modulus(2048, 0), e)), "accepted", "{e:?}");
        }
    }

    #[test]
    fn kids_are_short_identifiers_of_base64urls_alphabet() {
        for kid in ["k1", "nOo3ZDrODXEK1jKWhXslHR_KXEg", "A-_z09", &"k".repeat(128)] {
            assert!(is_opaque_kid(kid), "{kid}");
        }
        for kid in [
            "",
            &"k".repeat(129),
            "../../etc/passwd",
            "k1' OR 1=1 --",
            "https://evil.example/key",
            "k 1",
            "k1=",
        ] {
            assert!(!is_opaque_kid(kid), "{kid}");
        }
    }
}
