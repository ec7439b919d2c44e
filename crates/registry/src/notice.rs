//! What a `NOTIFY` on [`CHANGES_CHANNEL`] says, written and read here only.
//!
//! Payloads: `*` (every record may have changed, e.g. secrets resealed), `slug@version` (the tenant
//! is now at that version), or a bare `slug` (the tenant is gone; replicas before versioned notices
//! sent this for every change, so it always drops the record). A payload that does not parse means
//! "everything": dropping too much is safe, keeping a changed record is not.

use crate::domain::TenantSlug;

/// The `NOTIFY` channel for tenant changes.
pub const CHANGES_CHANNEL: &str = "acsgw_tenant_changes";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Everything,
    /// One tenant changed: now at `version`, or deleted (`None`).
    Tenant {
        slug: TenantSlug,
        version: Option<i64>,
    },
}

impl Notice {
    pub fn parse(payload: &str) -> Self {
        let (slug, version) = match payload.split_once('@') {
            Some((slug, version)) => match version.parse::<i64>() {
                Ok(version) => (slug, Some(version)),
                Err(_) => return Self::Everything,
            },
            None => (payload, None),
        };
        match TenantSlug::parse(slug) {
            Ok(slug) => Self::Tenant { slug, version },
            Err(_) => Self::Everything,
        }
    }

    pub fn payload(&self) -> String {
        match self {
            Self::Everything => "*".to_owned(),
            Self::Tenant { slug, version: Some(version) } => {
                format!("{slug}@{version}", slug = slug.as_str())
            }
            Self::Tenant { slug, version: None } => slug.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(value: &str) -> TenantSlug {
        TenantSlug::parse(value).unwrap()
    }

    #[test]
    fn every_notice_reads_back_as_it_was_written() {
        for notice in [
            Notice::Everything,
            Notice::Tenant { slug: slug("fabrikam"), version: Some(7) },
            Notice::Tenant { slug: slug("fabrikam"), version: None },
        ] {
            assert_eq!(Notice::parse(&notice.payload()), notice);
        }
    }

    #[test]
    fn a_bare_slug_from_an_older_replica_names_the_tenant_without_a_version() {
        assert_eq!(Notice::parse("contoso"), Notice::Tenant { slug: slug("contoso"), version: None });
    }

    #[test]
    fn a_payload_that_does_not_parse_means_everything() {
        for payload in ["", "Not A Slug", "fabrikam@", "fabrikam@seven", "@7", "a@1"] {
            assert_eq!(Notice::parse(payload), Notice::Everything, "{payload:?}");
        }
    }
}
