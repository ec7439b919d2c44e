//! Signing keys per key set, merged across fetches (a published set may flap) and each trusted for a
//! bounded time after the last fetch that listed it. An unknown `kid` causes at most one fetch per
//! cool-down per set, and concurrent misses share that fetch (a flood of invented kids never becomes
//! a flood of fetches). A failed fetch keeps the last known good keys until they age out; a key set
//! that could not be read makes the answer "unavailable", never "unknown key": we cannot say a token is
//! bad when we could not look.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::{
    clock::Clock,
    fetch,
    jwk::{Jwk, is_opaque_kid},
};

/// What names one key set in the store: its URL, or its URL and whose it is.
pub trait KeySetId: Clone + Eq + Hash + Send + Sync + 'static {
    fn url(&self) -> &Url;
}

impl KeySetId for Url {
    fn url(&self) -> &Url {
        self
    }
}

#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    /// A whole key-set fetch.
    pub timeout: Duration,
    /// How long a key stays trusted after the last fetch that listed it.
    pub key_ttl: Duration,
    /// The least time between two fetches of one key set caused by unknown kids.
    pub refresh_cooldown: Duration,
    /// A set in use is fetched again in the background once its last good fetch is this old; `None`
    /// leaves refreshing to [`KeyStore::refresh_all`].
    pub refresh_interval: Option<Duration>,
    /// Key sets kept at most, idle ones dropped after a key TTL; `None` keeps every set.
    pub max_sets: Option<u64>,
    /// Measures key ages and cool-downs: the real clock, or a manual one in tests.
    pub clock: Clock,
}

/// Why the store has no key to verify with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Published, but not a key we accept (too short, wrong type).
    #[error("signing key not accepted: {0}")]
    Refused(&'static str),
    /// The set was read (just now, or within the cool-down) and does not list the kid.
    #[error("token signed with an unknown key")]
    Unknown,
    /// The set was read within the cool-down, but the key was last listed longer than a key TTL ago:
    /// retired, or (with a TTL shorter than the cool-down) not confirmed since. Each caller says
    /// which answer that is.
    #[error("signing key aged out")]
    AgedOut,
    /// The set could not be read (just now, or within the cool-down): nothing can be said about the
    /// token.
    #[error("signing keys are unavailable")]
    Unavailable,
}

/// A key as used for verification, with the issuer its key set names (Entra's v2 key sets do).
pub struct VerificationKey {
    pub key: DecodingKey,
    pub issuer: Option<String>,
}

pub struct KeyStore<Id: KeySetId> {
    http: reqwest::Client,
    policy: KeyPolicy,
    sets: moka::sync::Cache<Id, Arc<KeySet>>,
}

enum Cached {
    Usable(Arc<VerificationKey>),
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
    Found(Arc<VerificationKey>),
    Refused(&'static str),
    Expired,
    Missing,
}

/// A published key and, in Entra's v2 key sets, the issuer it signs for.
#[derive(Deserialize)]
struct PublishedKey {
    #[serde(flatten)]
    key: Jwk,
    issuer: Option<String>,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

impl<Id: KeySetId> KeyStore<Id> {
    pub fn new(http: reqwest::Client, policy: KeyPolicy) -> Self {
        let builder = moka::sync::Cache::builder().support_invalidation_closures();
        let sets = match policy.max_sets {
            Some(capacity) => builder.max_capacity(capacity).time_to_idle(policy.key_ttl).build(),
            None => builder.build(),
        };
        Self { http, policy, sets }
    }

    /// The key `kid` of the set `id`; `on_fetch` hears whether a fetch this lookup made worked.
    pub async fn key(
        &self,
        id: &Id,
        kid: &str,
        on_fetch: impl Fn(bool),
    ) -> Result<Arc<VerificationKey>, KeyError> {
        let set = self.sets.get_with(id.clone(), Arc::default);
        let (ttl, clock) = (self.policy.key_ttl, self.policy.clock);
        match set.lookup(kid, ttl, clock) {
            Lookup::Found(key) => {
                self.refresh_in_background_if_stale(&set, id);
                return Ok(key);
            }
            Lookup::Refused(why) => return Err(KeyError::Refused(why)),
            Lookup::Expired | Lookup::Missing => {}
        }
        let mut attempt = set.attempt.lock().await;
        let cooling = attempt.started.is_some_and(|at| clock.elapsed(at) < self.policy.refresh_cooldown);
        if !cooling && !matches!(set.lookup(kid, ttl, clock), Lookup::Found(_) | Lookup::Refused(_)) {
            *attempt = Attempt { started: Some(clock.now()), ok: false };
            attempt.ok = fetch_into(&self.http, &set, id.url(), self.policy).await;
            on_fetch(attempt.ok);
        }
        match set.lookup(kid, ttl, clock) {
            Lookup::Found(key) => Ok(key),
            Lookup::Refused(why) => Err(KeyError::Refused(why)),
            Lookup::Missing if attempt.ok => Err(KeyError::Unknown),
            Lookup::Expired if attempt.ok => Err(KeyError::AgedOut),
            // The source failed when last asked: we cannot say the token is bad.
            Lookup::Expired | Lookup::Missing => Err(KeyError::Unavailable),
        }
    }

    /// Fetches every known key set again (a background refresh), ignoring the cool-down; `on_fetch`
    /// hears each set and whether its fetch worked.
    pub async fn refresh_all(&self, on_fetch: impl Fn(&Id, bool)) {
        let clock = self.policy.clock;
        for (id, set) in self.sets.iter() {
            let mut attempt = set.attempt.lock().await;
            *attempt = Attempt { started: Some(clock.now()), ok: false };
            attempt.ok = fetch_into(&self.http, &set, id.url(), self.policy).await;
            on_fetch(&id, attempt.ok);
        }
    }

    /// Drops every key set `id` names for which `forget` holds.
    pub fn forget(&self, forget: impl Fn(&Id) -> bool + Send + Sync + 'static) {
        if let Err(error) = self.sets.invalidate_entries_if(move |id, _| forget(id)) {
            tracing::error!(%error, "could not drop key sets");
        }
    }

    /// The age of every key since the last fetch that listed it, per set (for metrics).
    pub fn key_ages(&self) -> Vec<(Id, String, Duration)> {
        let mut ages = Vec::new();
        for (id, set) in self.sets.iter() {
            let known = set.known();
            ages.extend(
                known.keys.iter().map(|(kid, seen)| {
                    ((*id).clone(), kid.clone(), self.policy.clock.elapsed(seen.last_seen))
                }),
            );
        }
        ages
    }

    fn refresh_in_background_if_stale(&self, set: &Arc<KeySet>, id: &Id) {
        let Some(interval) = self.policy.refresh_interval else { return };
        let clock = self.policy.clock;
        let stale = set.known().last_success.is_none_or(|at| clock.elapsed(at) >= interval);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if !stale {
            return;
        }
        let cooldown = self.policy.refresh_cooldown;
        // A fetch under way, or one started within the cool-down, is as fresh as we may get.
        match set.attempt.try_lock() {
            Ok(attempt) if attempt.started.is_none_or(|at| clock.elapsed(at) >= cooldown) => {}
            _ => return,
        }
        if set.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (http, set, url, policy) = (self.http.clone(), set.clone(), id.url().clone(), self.policy);
        runtime.spawn(async move {
            let mut attempt = set.attempt.lock().await;
            if attempt.started.is_none_or(|at| clock.elapsed(at) >= cooldown) {
                *attempt = Attempt { started: Some(clock.now()), ok: false };
                attempt.ok = fetch_into(&http, &set, &url, policy).await;
            }
            set.refreshing.store(false, Ordering::Release);
        });
    }
}

impl KeySet {
    fn known(&self) -> MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, kid: &str, ttl: Duration, clock: Clock) -> Lookup {
        match self.known().keys.get(kid) {
            None => Lookup::Missing,
            Some(seen) if clock.elapsed(seen.last_seen) >= ttl => Lookup::Expired,
            Some(Seen { key: Cached::Usable(key), .. }) => Lookup::Found(key.clone()),
            Some(Seen { key: Cached::Refused(why), .. }) => Lookup::Refused(why),
        }
    }

    /// Adds the keys of `jwks`, drops keys not seen for a TTL. Entries that are not keys, or have no
    /// opaque kid, are skipped; a key jose refuses is remembered with its reason.
    fn merge(&self, jwks: Jwks, ttl: Duration, clock: Clock) {
        let now = clock.now();
        let mut known = self.known();
        let published = jwks.keys.into_iter().filter(Value::is_object);
        for jwk in published.filter_map(|key| serde_json::from_value::<PublishedKey>(key).ok()) {
            let Some(kid) = jwk.key.kid.clone().filter(|k| is_opaque_kid(k)) else { continue };
            let key = match jwk.key.rs256_key() {
                Ok(key) => Cached::Usable(Arc::new(VerificationKey { key, issuer: jwk.issuer })),
                Err(why) => Cached::Refused(why),
            };
            known.keys.insert(kid, Seen { key, last_seen: now });
        }
        known.keys.retain(|_, seen| clock.elapsed(seen.last_seen) < ttl);
        known.last_success = Some(now);
    }
}

/// Fetches and merges one key set; whether it worked. A failure keeps the keys already known.
async fn fetch_into(http: &reqwest::Client, set: &KeySet, url: &Url, policy: KeyPolicy) -> bool {
    match fetch::json::<Jwks>(http, url, policy.timeout).await {
        Ok(jwks) => {
            set.merge(jwks, policy.key_ttl, policy.clock);
            tracing::debug!(host = url.host_str(), "fetched a signing key set");
            true
        }
        Err(error) => {
            tracing::warn!(host = url.host_str(), %error, "signing key fetch failed; keeping the last known good keys");
            false
        }
    }
}
