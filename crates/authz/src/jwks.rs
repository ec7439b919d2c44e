//! Signing keys of `jwt` policies, per tenant and key-set URL (one tenant's unknown-kid flood never
//! spends another tenant's fetches), merged across fetches and each trusted for a bounded time after
//! the last fetch that listed it.
//!
//! An unknown `kid` causes at most one fetch per cool-down per set, and concurrent misses share that
//! fetch. A set in use is fetched again in the background once its last good fetch is older than the
//! refresh interval, so last-known-good keys stay fresh while the vendor is up and outlive a vendor
//! outage by up to the key TTL. A key set that cannot be fetched makes the answer "unavailable"
//! (503), never "invalid": we cannot say a token is bad when we could not look.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use jose::jwk::{Jwk, is_opaque_kid};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::{AuthzError, Check, fetch::bounded_body};

/// Key sets are a few KiB; a larger answer is not one.
const MAX_KEY_SET_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    pub timeout: Duration,
    pub cooldown: Duration,
    pub refresh_interval: Duration,
    pub key_ttl: Duration,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct SetId {
    tenant: String,
    url: Url,
}

pub struct KeyStore {
    http: reqwest::Client,
    policy: KeyPolicy,
    sets: moka::sync::Cache<SetId, Arc<KeySet>>,
}

enum Cached {
    Usable(Arc<DecodingKey>),
    /// Published, but not a key we accept (too short, wrong type): refused with the reason.
    Refused(&'static str),
}

struct Seen {
    key: Cached,
    last_seen: Instant,
}

#[derive(Default)]
struct Known {
    keys: HashMap<String, Seen>,
    last_success: Option<Instant>,
}

/// When the last fetch started and whether it worked; held across a fetch for single flight.
#[derive(Default)]
struct Attempt {
    started: Option<Instant>,
    ok: bool,
}

#[derive(Default)]
struct KeySet {
    known: Mutex<Known>,
    attempt: tokio::sync::Mutex<Attempt>,
    refreshing: AtomicBool,
}

enum Lookup {
    Found(Arc<DecodingKey>),
    Refused(&'static str),
    Expired,
    Missing,
}

impl KeyStore {
    pub fn new(http: reqwest::Client, policy: KeyPolicy, capacity: u64) -> Self {
        let sets = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .time_to_idle(policy.key_ttl)
            .support_invalidation_closures()
            .build();
        Self { http, policy, sets }
    }

    /// The key `kid` of `tenant`'s key set at `url`.
    pub async fn key(&self, tenant: &str, url: &Url, kid: &str) -> Result<Arc<DecodingKey>, AuthzError> {
        let id = SetId { tenant: tenant.to_owned(), url: url.clone() };
        let set = self.sets.get_with(id, || Arc::new(KeySet::default()));
        match set.lookup(kid, self.policy.key_ttl) {
            Lookup::Found(key) => {
                self.refresh_in_background_if_stale(&set, url);
                return Ok(key);
            }
            Lookup::Refused(why) => return Err(Check::Key(why).into()),
            Lookup::Expired | Lookup::Missing => {}
        }
        let mut attempt = set.attempt.lock().await;
        let cooling = attempt.started.is_some_and(|at| at.elapsed() < self.policy.cooldown);
        if !cooling && !matches!(set.lookup(kid, self.policy.key_ttl), Lookup::Found(_) | Lookup::Refused(_))
        {
            *attempt = Attempt { started: Some(Instant::now()), ok: false };
            attempt.ok = fetch_into(&self.http, &set, url, self.policy).await;
        }
        match set.lookup(kid, self.policy.key_ttl) {
            Lookup::Found(key) => Ok(key),
            Lookup::Refused(why) => Err(Check::Key(why).into()),
            // The set was read just now or within the cool-down and does not list this kid.
            Lookup::Expired | Lookup::Missing if attempt.ok => Err(Check::UnknownKey.into()),
            // Asking failed (now or within the cool-down): we cannot say the token is bad.
            Lookup::Expired | Lookup::Missing => Err(AuthzError::KeysUnavailable),
        }
    }

    /// Drops every key set of `tenant`.
    pub fn forget_tenant(&self, tenant: &str) {
        let tenant = tenant.to_owned();
        if let Err(error) = self.sets.invalidate_entries_if(move |id, _| id.tenant == tenant) {
            tracing::error!(%error, "could not drop a tenant's key sets");
        }
    }

    fn refresh_in_background_if_stale(&self, set: &Arc<KeySet>, url: &Url) {
        let stale = set.known().last_success.is_none_or(|at| at.elapsed() >= self.policy.refresh_interval);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if !stale {
            return;
        }
        // A fetch under way, or one started within the cool-down, is as fresh as we may get.
        match set.attempt.try_lock() {
            Ok(attempt) if attempt.started.is_none_or(|at| at.elapsed() >= self.policy.cooldown) => {}
            _ => return,
        }
        if set.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (http, set, url, policy) = (self.http.clone(), set.clone(), url.clone(), self.policy);
        runtime.spawn(async move {
            let mut attempt = set.attempt.lock().await;
            if attempt.started.is_none_or(|at| at.elapsed() >= policy.cooldown) {
                *attempt = Attempt { started: Some(Instant::now()), ok: false };
                attempt.ok = fetch_into(&http, &set, &url, policy).await;
            }
            set.refreshing.store(false, Ordering::Release);
        });
    }
}

impl KeySet {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, kid: &str, ttl: Duration) -> Lookup {
        match self.known().keys.get(kid) {
            None => Lookup::Missing,
            Some(seen) if seen.last_seen.elapsed() >= ttl => Lookup::Expired,
            Some(Seen { key: Cached::Usable(key), .. }) => Lookup::Found(key.clone()),
            Some(Seen { key: Cached::Refused(why), .. }) => Lookup::Refused(why),
        }
    }

    fn merge(&self, jwks: Jwks, ttl: Duration) {
        let now = Instant::now();
        let mut known = self.known();
        for jwk in jwks
            .keys
            .into_iter()
            .filter(Value::is_object)
            .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        {
            let Some(kid) = jwk.kid.clone().filter(|k| is_opaque_kid(k)) else { continue };
            known.keys.insert(kid, Seen { key: accept(&jwk), last_seen: now });
        }
        known.keys.retain(|_, seen| seen.last_seen.elapsed() < ttl);
        known.last_success = Some(now);
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

/// Fetches and merges one key set; whether it worked. Failures keep the keys already known.
async fn fetch_into(http: &reqwest::Client, set: &KeySet, url: &Url, policy: KeyPolicy) -> bool {
    match fetch(http, url, policy.timeout).await {
        Ok(jwks) => {
            set.merge(jwks, policy.key_ttl);
            tracing::debug!(host = url.host_str(), "fetched a tenant's signing keys");
            true
        }
        Err(error) => {
            tracing::warn!(host = url.host_str(), %error, "signing key fetch failed; keeping known keys");
            false
        }
    }
}

async fn fetch(http: &reqwest::Client, url: &Url, timeout: Duration) -> Result<Jwks, String> {
    let request = http.get(url.clone()).header(reqwest::header::ACCEPT, "application/json").timeout(timeout);
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    let body = bounded_body(response, MAX_KEY_SET_BYTES).await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|_| "not a JSON key set".to_owned())
}

/// Only keys jose accepts for RS256; a refused key is remembered with its reason.
fn accept(jwk: &Jwk) -> Cached {
    jwk.rs256_key().map_or_else(Cached::Refused, |key| Cached::Usable(Arc::new(key)))
}
