//! Signing keys per key-set URL, merged across fetches (Entra's published set flaps), each trusted
//! for a day after it was last seen. An unknown `kid` triggers at most one fetch per cool-down per URL
//! (a flood of invented kids does not become a flood of fetches); a failed fetch keeps the last known
//! good keys until they age out, after which the answer is "unavailable", not "invalid". While cooling
//! down after a failed fetch, an unknown `kid` is also "unavailable": we could not ask.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use jose::jwk::is_opaque_kid;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use url::Url;

use crate::{
    Rejection, fetch,
    observe::{FetchEvent, FetchKind, Observer},
};

#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    pub timeout: Duration,
    /// How long a key stays trusted after the last fetch that listed it.
    pub key_ttl: Duration,
    /// The least time between two fetches of one key set caused by unknown kids.
    pub refresh_cooldown: Duration,
}

/// A key as used for verification, with the issuer its key set names (v2 key sets do).
pub struct VerificationKey {
    pub key: DecodingKey,
    pub issuer: Option<String>,
}

enum Cached {
    Usable(Arc<VerificationKey>),
    /// Published, but not a key we accept (too short, wrong type): refused with the reason.
    Refused(&'static str),
}

struct Seen {
    key: Cached,
    last_seen: Instant,
}

/// The last fetch of a key set: when it started and whether it worked.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    at: Instant,
    ok: bool,
}

#[derive(Default)]
struct KeySet {
    keys: Mutex<HashMap<String, Seen>>,
    /// The last fetch of this set; guarded by the async lock for single flight.
    fetching: tokio::sync::Mutex<Option<Attempt>>,
}

pub struct KeyStore {
    http: reqwest::Client,
    policy: KeyPolicy,
    sets: Mutex<HashMap<Url, Arc<KeySet>>>,
    observer: Observer,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// A published key and, in v2 key sets, the issuer it signs for.
#[derive(Deserialize)]
struct Jwk {
    #[serde(flatten)]
    key: jose::jwk::Jwk,
    issuer: Option<String>,
}

enum Lookup {
    Found(Arc<VerificationKey>),
    Refused(&'static str),
    Expired,
    Missing,
}

impl KeySet {
    fn lookup(&self, kid: &str, ttl: Duration) -> Lookup {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        match keys.get(kid) {
            None => Lookup::Missing,
            Some(seen) if seen.last_seen.elapsed() >= ttl => Lookup::Expired,
            Some(Seen { key: Cached::Usable(key), .. }) => Lookup::Found(key.clone()),
            Some(Seen { key: Cached::Refused(why), .. }) => Lookup::Refused(why),
        }
    }

    fn merge(&self, jwks: Jwks, ttl: Duration) {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        for jwk in jwks.keys {
            let Some(kid) = jwk.key.kid.clone().filter(|k| is_opaque_kid(k)) else { continue };
            keys.insert(kid, Seen { key: accept(jwk), last_seen: now });
        }
        keys.retain(|_, seen| seen.last_seen.elapsed() < ttl);
    }
}

impl KeyStore {
    pub fn new(http: reqwest::Client, policy: KeyPolicy, observer: Observer) -> Self {
        Self { http, policy, sets: Mutex::new(HashMap::new()), observer }
    }

    fn set(&self, url: &Url) -> Arc<KeySet> {
        let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        sets.entry(url.clone()).or_default().clone()
    }

    /// The key `kid` of the set at `jwks_uri`.
    pub async fn key(
        &self,
        jwks_uri: &Url,
        kid: &str,
        authority: &str,
    ) -> Result<Arc<VerificationKey>, Rejection> {
        let set = self.set(jwks_uri);
        let ttl = self.policy.key_ttl;
        if let Lookup::Found(key) = set.lookup(kid, ttl) {
            return Ok(key);
        }
        let mut last_fetch = set.fetching.lock().await;
        match set.lookup(kid, ttl) {
            Lookup::Found(key) => return Ok(key),
            Lookup::Refused(why) => return Err(Rejection::Key(why)),
            Lookup::Expired | Lookup::Missing => {}
        }
        let cooling = last_fetch.filter(|last| last.at.elapsed() < self.policy.refresh_cooldown);
        // Whether the key source answered: just now, or at its last fetch while we cool down.
        let answered = match cooling {
            Some(last) => last.ok,
            None => {
                let at = Instant::now();
                let ok = self.fetch_into(&set, jwks_uri, authority).await;
                *last_fetch = Some(Attempt { at, ok });
                ok
            }
        };
        match set.lookup(kid, ttl) {
            Lookup::Found(key) => Ok(key),
            Lookup::Refused(why) => Err(Rejection::Key(why)),
            // The key aged out, or the source failed when last asked: we cannot say the token is bad.
            Lookup::Expired => Err(Rejection::KeysUnavailable),
            Lookup::Missing if !answered => Err(Rejection::KeysUnavailable),
            Lookup::Missing => Err(Rejection::UnknownKey),
        }
    }

    /// Fetches and merges one key set; whether it worked.
    async fn fetch_into(&self, set: &KeySet, url: &Url, authority: &str) -> bool {
        match fetch::json::<Jwks>(&self.http, url, self.policy.timeout).await {
            Ok(jwks) => {
                (self.observer)(FetchEvent { authority, kind: FetchKind::Keys, ok: true });
                set.merge(jwks, self.policy.key_ttl);
                true
            }
            Err(error) => {
                (self.observer)(FetchEvent { authority, kind: FetchKind::Keys, ok: false });
                tracing::warn!(%url, %error, "signing key fetch failed; keeping the last known good keys");
                false
            }
        }
    }

    /// Fetches every known key set again (the background refresh), ignoring the cool-down.
    pub async fn refresh_all(&self, authority_of: impl Fn(&Url) -> String) {
        let known: Vec<(Url, Arc<KeySet>)> = {
            let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
            sets.iter().map(|(u, s)| (u.clone(), s.clone())).collect()
        };
        for (url, set) in known {
            let mut last_fetch = set.fetching.lock().await;
            let at = Instant::now();
            let ok = self.fetch_into(&set, &url, &authority_of(&url)).await;
            *last_fetch = Some(Attempt { at, ok });
        }
    }

    /// The age of every usable key since it was last seen, per key-set URL (for metrics).
    pub fn key_ages(&self) -> Vec<(Url, String, Duration)> {
        let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ages = Vec::new();
        for (url, set) in sets.iter() {
            let keys = set.keys.lock().unwrap_or_else(PoisonError::into_inner);
            ages.extend(keys.iter().map(|(kid, seen)| (url.clone(), kid.clone(), seen.last_seen.elapsed())));
        }
        ages
    }
}

/// Only keys jose accepts for RS256; a refused key is remembered with its reason.
fn accept(jwk: Jwk) -> Cached {
    match jwk.key.rs256_key() {
        Ok(key) => Cached::Usable(Arc::new(VerificationKey { key, issuer: jwk.issuer })),
        Err(why) => Cached::Refused(why),
    }
}
