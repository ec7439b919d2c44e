//! The Identity operations and the `api-version` values each one accepts (reference section 1).

use actix_web::HttpRequest;

use super::error::AcsError;

/// The Identity routes the emulator serves. The resource names in `routes.rs` are these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Exchange,
    CreateIdentity,
    IssueToken,
    Revoke,
    Delete,
}

impl Operation {
    pub(crate) const ALL: [Operation; 5] =
        [Self::Exchange, Self::CreateIdentity, Self::IssueToken, Self::Revoke, Self::Delete];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Exchange => "exchange",
            Self::CreateIdentity => "create-identity",
            Self::IssueToken => "issue-token",
            Self::Revoke => "revoke",
            Self::Delete => "delete",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|operation| operation.name() == name)
    }

    /// The versions that have this operation, oldest first.
    pub(crate) fn versions(self) -> &'static [&'static str] {
        match self {
            Self::Exchange => &VERSIONS[1..],
            _ => VERSIONS,
        }
    }

    /// The value of the `api-supported-versions` response header.
    pub(crate) fn supported_versions_header(self) -> &'static str {
        match self {
            Self::Exchange => EXCHANGE_HEADER,
            _ => IDENTITY_HEADER,
        }
    }
}

/// Every version in the reference's table. Only 2021-03-07 lacks the Teams exchange.
const VERSIONS: &[&str] = &[
    "2021-03-07",
    "2021-03-31-preview1",
    "2021-10-31-preview",
    "2022-06-01",
    "2022-10-01",
    "2023-08-01",
    "2023-10-01",
    "2025-03-02-preview",
    "2025-04-01-preview",
    "2025-06-30",
    "2026-07-22",
    "2026-09-23",
];

const IDENTITY_HEADER: &str = "2021-03-07, 2021-03-31-preview1, 2021-10-31-preview, 2022-06-01, 2022-10-01, \
     2023-08-01, 2023-10-01, 2025-03-02-preview, 2025-04-01-preview, 2025-06-30, 2026-07-22, 2026-09-23";
const EXCHANGE_HEADER: &str = "2021-03-31-preview1, 2021-10-31-preview, 2022-06-01, 2022-10-01, \
     2023-08-01, 2023-10-01, 2025-03-02-preview, 2025-04-01-preview, 2025-06-30, 2026-07-22, 2026-09-23";

/// An `api-version` accepted for the operation of the request it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ApiVersion(&'static str);

impl ApiVersion {
    /// Reads `api-version` from the raw query: 400 `MissingApiVersionParameter` when absent or
    /// empty, 400 `UnsupportedApiVersion` when the operation does not exist in that version.
    pub(crate) fn of(req: &HttpRequest, operation: Operation) -> Result<Self, AcsError> {
        let value = url::form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(name, _)| name == "api-version")
            .map(|(_, value)| value.into_owned())
            .filter(|value| !value.is_empty())
            .ok_or_else(AcsError::missing_api_version)?;
        operation
            .versions()
            .iter()
            .find(|known| **known == value)
            .map(|known| Self(known))
            .ok_or_else(|| AcsError::unsupported_api_version(&value))
    }

    /// The two early previews took `{"token"}` only; every GA version requires `appId` and `userId`.
    pub(crate) fn exchange_requires_ids(self) -> bool {
        !matches!(self.0, "2021-03-31-preview1" | "2021-10-31-preview")
    }

    /// `chat.join`, `chat.join.limited` and `voip.join` arrived in 2023-10-01. Versions are ISO
    /// dates, so comparing the strings compares the dates.
    pub(crate) fn has_join_scopes(self) -> bool {
        self.0 >= "2023-10-01"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supported_versions_headers_list_exactly_the_accepted_versions() {
        for operation in Operation::ALL {
            let listed: Vec<&str> = operation.supported_versions_header().split(", ").collect();
            assert_eq!(listed, operation.versions(), "{operation:?}");
        }
    }

    #[test]
    fn the_exchange_does_not_exist_in_the_first_ga_version() {
        assert!(!Operation::Exchange.versions().contains(&"2021-03-07"));
        assert!(Operation::CreateIdentity.versions().contains(&"2021-03-07"));
    }

    #[test]
    fn join_scopes_start_with_2023_10_01() {
        assert!(!ApiVersion("2023-08-01").has_join_scopes());
        assert!(ApiVersion("2023-10-01").has_join_scopes());
        assert!(ApiVersion("2025-03-02-preview").has_join_scopes());
    }
}
