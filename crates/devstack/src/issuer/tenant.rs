//! The `{tenant}` path segment and the issuer strings Entra derives from it.
//!
//! Entra names its issuers on its own fixed hosts whatever host served the metadata: v1 tokens come
//! from `https://sts.windows.net/{tid}/` and v2 tokens from `https://login.microsoftonline.com/{tid}/v2.0`.
//! The dev issuer keeps exactly those strings so the gateway's "issuer comes from the metadata, never
//! from the authority host" rule is exercised for real.

use std::fmt;

use uuid::Uuid;

/// The literal placeholder Entra puts into the tenant-independent (`organizations`, `common`) issuers.
pub const TENANT_ID_TEMPLATE: &str = "{tenantid}";

/// A tenant path segment the dev issuer serves: one directory, or one of the two multi-tenant aliases.
///
/// Real Entra also accepts verified domain names and `consumers`; the dev issuer has no directory to
/// resolve names against, so it answers those with Entra's "tenant not found" error instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantSegment {
    /// A single directory, by its GUID.
    Tenant(Uuid),
    /// Work and school accounts of any directory.
    Organizations,
    /// Any account (work, school or personal).
    Common,
}

impl TenantSegment {
    /// Parses a path segment: a hyphenated GUID (any letter case), `organizations` or `common`.
    pub fn parse(segment: &str) -> Option<Self> {
        if segment.eq_ignore_ascii_case("organizations") {
            return Some(Self::Organizations);
        }
        if segment.eq_ignore_ascii_case("common") {
            return Some(Self::Common);
        }
        parse_guid(segment).map(Self::Tenant)
    }

    /// The directory GUID, or `None` for the multi-tenant aliases.
    pub fn tenant_id(self) -> Option<Uuid> {
        match self {
            Self::Tenant(id) => Some(id),
            Self::Organizations | Self::Common => None,
        }
    }

    /// What goes where `{tid}` sits in an issuer: the GUID, or the literal `{tenantid}` template that
    /// relying parties fill in from the token's `tid`.
    fn issuer_tenant(self) -> String {
        match self {
            Self::Tenant(id) => id.to_string(),
            Self::Organizations | Self::Common => TENANT_ID_TEMPLATE.to_owned(),
        }
    }

    /// The issuer named by the v1 metadata document (and put into v1 tokens).
    pub fn v1_issuer(self) -> String {
        v1_issuer(&self.issuer_tenant())
    }

    /// The issuer named by the v2 metadata document and by each v2 JWKS key.
    pub fn v2_issuer(self) -> String {
        v2_issuer(&self.issuer_tenant())
    }
}

impl fmt::Display for TenantSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant(id) => write!(f, "{id}"),
            Self::Organizations => f.write_str("organizations"),
            Self::Common => f.write_str("common"),
        }
    }
}

/// Parses only the hyphenated 36-character form Entra puts into `tid` and paths; `Uuid::parse_str`
/// would also take braced, URN and unhyphenated forms that Entra never produces.
pub fn parse_guid(text: &str) -> Option<Uuid> {
    if text.len() != 36 {
        return None;
    }
    Uuid::try_parse(text).ok()
}

/// `https://sts.windows.net/{tid}/`: note the trailing slash, which v1 issuers always have.
pub fn v1_issuer(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

/// `https://login.microsoftonline.com/{tid}/v2.0`: no trailing slash.
pub fn v2_issuer(tid: &str) -> String {
    format!("https://login.microsoftonline.com/{tid}/v2.0")
}
