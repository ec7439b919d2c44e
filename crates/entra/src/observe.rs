//! What the validator reports about its upstream fetches, for metrics the caller owns.

use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchKind {
    Metadata,
    Keys,
}

/// One fetch of a metadata document or key set. `authority` is the authority's path segment (a
/// tenant id, `organizations` or `common`): bounded by the registry.
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
