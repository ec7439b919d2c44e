//! The dev Entra issuer's signing keys, fetched from `{entra_url}/common/discovery/keys` and cached
//! by `kid`. An unknown `kid` triggers one refetch, at most once per [`KEY_REFETCH_COOLDOWN`] (timed
//! by the emulator's [`Clock`]), with concurrent misses waiting on the same fetch. Fetched keys are
//! merged, never dropped.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use jose::clock::Clock;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

/// How long after one fetch of the key set an unknown `kid` may trigger the next.
pub const KEY_REFETCH_COOLDOWN: Duration = Duration::from_millis(500);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error("no signing key with this kid")]
    UnknownKid,
    #[error("the signing keys could not be fetched: {0}")]
    Unreachable(String),
}

pub(crate) struct EntraKeys {
    jwks_url: String,
    client: reqwest::Client,
    keys: RwLock<HashMap<String, Arc<DecodingKey>>>,
    /// When the last fetch started; the lock also makes concurrent misses share one fetch.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    clock: Clock,
    fetches: AtomicU64,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl EntraKeys {
    pub(crate) fn new(entra_url: &str, clock: Clock) -> anyhow::Result<Self> {
        let client =
            reqwest::Client::builder().timeout(FETCH_TIMEOUT).connect_timeout(FETCH_TIMEOUT).build()?;
        Ok(Self {
            jwks_url: format!("{}/common/discovery/keys", entra_url.trim_end_matches('/')),
            client,
            keys: RwLock::default(),
            last_fetch: tokio::sync::Mutex::default(),
            clock,
            fetches: AtomicU64::new(0),
        })
    }

    /// How many times the key set was fetched (successfully or not).
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    pub(crate) fn reset_fetches(&self) {
        self.fetches.store(0, Ordering::Relaxed);
    }

    pub(crate) async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, KeyError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last_fetch = self.last_fetch.lock().await;
        // Someone else may have fetched while this request waited for the lock.
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last_fetch.is_some_and(|at| self.clock.elapsed(at) < KEY_REFETCH_COOLDOWN) {
            return Err(KeyError::UnknownKid);
        }
        *last_fetch = Some(self.clock.now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.fetch().await?;
        let mut keys = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.extend(fetched);
        keys.get(kid).cloned().ok_or(KeyError::UnknownKid)
    }

    fn cached(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(kid).cloned()
    }

    async fn fetch(&self) -> Result<Vec<(String, Arc<DecodingKey>)>, KeyError> {
        let unreachable = |error: reqwest::Error| KeyError::Unreachable(error.without_url().to_string());
        let set: JwkSet = self
            .client
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unreachable)?
            .json()
            .await
            .map_err(unreachable)?;
        let usable = set.keys.into_iter().filter_map(|jwk| match (jwk.kty.as_str(), jwk.kid, jwk.n, jwk.e) {
            ("RSA", Some(kid), Some(n), Some(e)) => {
                DecodingKey::from_rsa_components(&n, &e).ok().map(|key| (kid, Arc::new(key)))
            }
            _ => None,
        });
        let usable: Vec<_> = usable.collect();
        tracing::debug!(url = %self.jwks_url, keys = usable.len(), "fetched dev issuer keys");
        Ok(usable)
    }
}
