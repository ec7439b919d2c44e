use crate::sealing::SealError;

/// What can go wrong in the registry, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("tenant not found")]
    NotFound,
    #[error("a tenant with this slug already exists")]
    SlugTaken,
    #[error("tenant was changed since version {expected}; it is now at version {current}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("stored tenant row is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Postgres cannot be reached (refused, reset, hung past the call's budget, or known to be down).
    #[error("the tenant registry (Postgres) is unreachable")]
    Unavailable,
}
