//! What the validator reports about its upstream fetches, for metrics the caller owns.

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchKind {
    Metadata,
    Keys,
}

/// Which source a document or key set is, per token version: the one every tenant shares (the
/// multi-tenant `organizations` metadata and its key set), or a tenant's own, asked only for a key
/// the shared set does not list. Four values whatever the registry holds, so it can label metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySource {
    Shared,
    SharedV2,
    Tenant,
    TenantV2,
}

impl KeySource {
    pub const ALL: [Self; 4] = [Self::Shared, Self::SharedV2, Self::Tenant, Self::TenantV2];

    pub fn label(self) -> &'static str {
        match self {
            Self::Shared => "common",
            Self::SharedV2 => "organizations/v2.0",
            Self::Tenant => "tenant",
            Self::TenantV2 => "tenant/v2.0",
        }
    }
}

/// One fetch of a metadata document or key set. `authority` is the [`KeySource`] label of what was
/// fetched (`common`, `organizations/v2.0`, `tenant`, `tenant/v2.0`), never a tenant id.
#[derive(Debug, Clone, Copy)]
pub struct FetchEvent<'a> {
    pub authority: &'a str,
    pub kind: FetchKind,
    pub ok: bool,
}

pub type Observer = Arc<dyn Fn(FetchEvent<'_>) + Send + Sync>;

pub fn ignore() -> Observer {
    Arc::new(|_| {})
}
