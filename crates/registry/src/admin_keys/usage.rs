//! When each admin key was last used, recorded off the request path: a request notes its key's id
//! in memory, and the ids noted since the last flush are written every few seconds in one statement
//! (and once more as the replica stops). `last_used_at` is therefore the time of the flush that
//! followed the use: at most one flush interval late.

use std::{
    collections::HashSet,
    sync::{Mutex, PoisonError},
};

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    RegistryError,
    health::{Budget, RegistryHealth},
};

/// Key ids used since the last flush.
#[derive(Debug, Default)]
pub struct KeyUsage {
    used: Mutex<HashSet<Uuid>>,
}

impl KeyUsage {
    /// Notes a use of `key_id`; no I/O.
    pub fn record(&self, key_id: Uuid) {
        self.used.lock().unwrap_or_else(PoisonError::into_inner).insert(key_id);
    }

    /// Writes the uses noted since the last flush, through the registry's breaker. What could not be
    /// written is kept for the next flush. Returns how many keys were written.
    pub async fn flush(&self, pool: &PgPool, health: &RegistryHealth) -> Result<usize, RegistryError> {
        let taken = self.take();
        if taken.is_empty() {
            return Ok(0);
        }
        match health.guard(Budget::Request, write(pool, &taken)).await {
            Ok(()) => Ok(taken.len()),
            Err(error) => {
                self.used.lock().unwrap_or_else(PoisonError::into_inner).extend(taken);
                Err(error)
            }
        }
    }

    /// The last flush as the replica stops: tried whatever the breaker says, abandoned at `deadline`.
    pub async fn flush_before_exit(&self, pool: &PgPool, deadline: tokio::time::Instant) {
        let taken = self.take();
        if taken.is_empty() {
            return;
        }
        match tokio::time::timeout_at(deadline, write(pool, &taken)).await {
            Ok(Ok(())) => tracing::debug!(keys = taken.len(), "admin key use written before exit"),
            Ok(Err(error)) => tracing::warn!(%error, "could not write admin key use before exit"),
            Err(_) => tracing::warn!("could not write admin key use before exit: no answer in time"),
        }
    }

    fn take(&self) -> Vec<Uuid> {
        self.used.lock().unwrap_or_else(PoisonError::into_inner).drain().collect()
    }
}

async fn write(pool: &PgPool, ids: &[Uuid]) -> Result<(), RegistryError> {
    sqlx::query("UPDATE admin_keys SET last_used_at = now() WHERE id = ANY($1)")
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(())
}
