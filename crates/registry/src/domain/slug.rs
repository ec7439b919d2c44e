use std::fmt;

use super::InvalidValue;

/// A tenant's public name in URLs: `[a-z0-9-]{3,63}`, immutable once created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let length_ok = (3..=63).contains(&value.len());
        let chars_ok = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if length_ok && chars_ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidValue::new("must be 3 to 63 characters of lower-case letters, digits and '-'"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TenantSlug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantSlug;

    #[test]
    fn slugs_of_lower_case_letters_digits_and_dashes_are_accepted() {
        for ok in ["abc", "fabrikam", "contoso-eu-2", "a-b", &"x".repeat(63)] {
            assert_eq!(TenantSlug::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn slugs_that_are_too_short_too_long_or_use_other_characters_are_refused() {
        for bad in ["", "ab", &"x".repeat(64), "Fabrikam", "fab_rikam", "fab rikam", "fabrikam/x", "ünï"] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
