use std::fmt;

use uuid::Uuid;

use super::InvalidValue;

/// A GUID in the one form Entra writes them: 36 characters, hyphenated, any case (kept lower-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(Uuid);

impl Guid {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        // `Uuid::try_parse` also takes braced, URN and unhyphenated forms; Entra never sends those.
        let hyphens_ok = value.len() == 36
            && value.char_indices().all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
        match Uuid::try_parse(value) {
            Ok(uuid) if hyphens_ok => Ok(Self(uuid)),
            _ => Err(InvalidValue::new("must be a GUID like 00000000-0000-0000-0000-000000000000")),
        }
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for Guid {
    fn from(value: Uuid) -> Self {
        Self(value)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A Microsoft Entra tenant (directory) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntraTenantId(Guid);

impl EntraTenantId {
    /// The tenant of personal Microsoft accounts; ACS's Teams exchange does not serve them.
    pub const CONSUMERS: Uuid = uuid::uuid!("9188040d-6c67-4c5b-b112-36a304b66dad");

    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let guid = Guid::parse(value)?;
        if guid.as_uuid() == Self::CONSUMERS {
            return Err(InvalidValue::new("is the Microsoft consumer tenant, which is never accepted"));
        }
        Ok(Self(guid))
    }

    pub fn from_uuid(value: Uuid) -> Result<Self, InvalidValue> {
        Self::parse(&value.hyphenated().to_string())
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0.as_uuid()
    }
}

impl fmt::Display for EntraTenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An Entra application (client) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(Guid);

impl AppId {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        Guid::parse(value).map(Self)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0.as_uuid()
    }
}

impl From<Uuid> for AppId {
    fn from(value: Uuid) -> Self {
        Self(Guid(value))
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphenated_guids_in_any_case_are_accepted_and_shown_lower_case() {
        let guid = Guid::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
        assert_eq!(guid.to_string(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
    }

    #[test]
    fn braced_urn_unhyphenated_and_malformed_guids_are_refused() {
        for bad in [
            "",
            "72f988bf86f141af91ab2d7cd011db47",
            "{72f988bf-86f1-41af-91ab-2d7cd011db47}",
            "urn:uuid:72f988bf-86f1-41af-91ab-2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4",
            "72f988bf-86f1-41af-91ab-2d7cd011db4g",
            "72f988bf-86f141af-91ab-2d7cd011db47-",
        ] {
            assert!(Guid::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_consumer_tenant_is_never_an_entra_tenant_id() {
        let error = EntraTenantId::parse("9188040d-6c67-4c5b-b112-36a304b66dad").unwrap_err();
        assert!(error.to_string().contains("consumer tenant"));
        assert!(AppId::parse("9188040d-6c67-4c5b-b112-36a304b66dad").is_ok());
    }
}
