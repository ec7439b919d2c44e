//! Tenant domain types. Each is built only by parsing, so holding one means it is valid.

mod authority;
mod connection_string;
mod guid;
mod limits;
mod policy;
mod slug;
mod tenant;
mod url;

pub use authority::{Authority, AuthorityKind, EntraSettings};
pub use connection_string::{AccessKey, ConnectionString, fingerprint};
pub use guid::{AppId, EntraTenantId, Guid};
pub use limits::Limits;
pub use policy::{AuthorizationPolicy, JwtKey, WebhookTimeouts, check_shared_secret};
pub use slug::TenantSlug;
pub use tenant::{
    AcsConnection, AcsCredential, DisplayName, NewAcsConnection, NewAcsCredential, NewTenant, SecretInput,
    Tenant, TenantChanges, TenantId, TenantStatus,
};
pub use url::{AcsEndpoint, ServiceUrl, Transport};

use std::borrow::Cow;

/// Why a value was refused, in words fit for an API client (never echoing secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub Cow<'static, str>);

impl InvalidValue {
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self(message.into())
    }
}
