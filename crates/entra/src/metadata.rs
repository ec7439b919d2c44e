//! OpenID metadata documents, the shared ones and tenants' own: where expected issuers and key sets
//! come from. Never built from the authority host: real v1 issuers live on `sts.windows.net`
//! whatever the host.
//! A failed fetch is not retried by every request: for a cool-down the last known good document is
//! served (or "unavailable" answered at once), and a document naming a plain-http key set is refused
//! unless insecure http is allowed. The cool-down starts short, so one failure on a cold start does
//! not refuse an authority for long, and doubles with each consecutive failure up to a maximum.
//! The documents of tenants' own sources are bounded in number and dropped when idle.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use jose::{
    clock::Clock,
    fetch::{self, FetchError},
};
use serde::Deserialize;
use url::Url;

use crate::{
    Rejection,
    observe::{FetchEvent, FetchKind, KeySource, Observer},
};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// The issuer, possibly with a `{tenantid}` template.
    pub issuer: String,
    pub jwks_uri: Url,
}

#[derive(Debug, Clone, Copy)]
pub struct MetadataPolicy {
    pub timeout: Duration,
    /// A document younger than this is used without asking again.
    pub refresh_after: Duration,
    /// Past this, a document that cannot be refreshed is no longer trusted.
    pub max_age: Duration,
    /// After a failed fetch, how long requests use what is known instead of fetching again; doubled
    /// for each further consecutive failure, up to `max_failure_cooldown`, and reset by a success.
    pub failure_cooldown: Duration,
    /// The longest cool-down after consecutive failures (also the cap on `failure_cooldown`).
    pub max_failure_cooldown: Duration,
    /// Whether a document may name a plain-http key set (development only).
    pub allow_insecure_http: bool,
    /// Measures document ages and cool-downs: the real clock, or a manual one in tests.
    pub clock: Clock,
}

impl MetadataPolicy {
    /// The cool-down after `failures` consecutive failed fetches (none after a success).
    fn cooldown_after(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(1) else { return Duration::ZERO };
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.failure_cooldown.saturating_mul(factor).min(self.max_failure_cooldown)
    }
}

/// The last fetch of a document: when it started and how many fetches in a row failed up to it.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    at: Instant,
    /// Consecutive failures ending with this attempt; 0 when it worked.
    failures: u32,
}

#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("jwks_uri is not https")]
    InsecureKeySet,
}

#[derive(Default)]
struct Slot {
    /// The [`KeySource`] label its fetches are reported under.
    label: &'static str,
    entry: Mutex<Option<(Arc<Metadata>, Instant)>>,
    last_attempt: Mutex<Option<Attempt>>,
    /// One fetch per document at a time; others wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

impl Slot {
    fn cached(&self, fresh_for: Duration, clock: Clock) -> Option<Arc<Metadata>> {
        let entry = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        entry.as_ref().filter(|(_, fetched)| clock.elapsed(*fetched) < fresh_for).map(|(m, _)| m.clone())
    }

    /// What is left of the cool-down after the last fetch, if it failed.
    fn cooldown_left(&self, policy: &MetadataPolicy) -> Option<Duration> {
        let last = (*self.last_attempt.lock().unwrap_or_else(PoisonError::into_inner))?;
        policy
            .cooldown_after(last.failures)
            .checked_sub(policy.clock.elapsed(last.at))
            .filter(|left| !left.is_zero())
    }

    fn record(&self, at: Instant, ok: bool) {
        let mut last = self.last_attempt.lock().unwrap_or_else(PoisonError::into_inner);
        let failures = match (ok, *last) {
            (true, _) => 0,
            (false, Some(previous)) => previous.failures.saturating_add(1),
            (false, None) => 1,
        };
        *last = Some(Attempt { at, failures });
    }
}

/// Whether a key set may be fetched from `url`: https, or plain http when that is allowed.
fn acceptable_key_set_url(url: &Url, allow_insecure_http: bool) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => allow_insecure_http,
        _ => false,
    }
}

pub struct MetadataCache {
    http: reqwest::Client,
    policy: MetadataPolicy,
    slots: moka::sync::Cache<Url, Arc<Slot>>,
    observer: Observer,
}

impl MetadataCache {
    /// `capacity` bounds the documents kept, each dropped once unused for `max_age`; `None` keeps
    /// every document (for the few every tenant shares).
    pub fn new(
        http: reqwest::Client,
        policy: MetadataPolicy,
        observer: Observer,
        capacity: Option<u64>,
    ) -> Self {
        let builder = moka::sync::Cache::builder();
        let slots = match capacity {
            Some(capacity) => builder.max_capacity(capacity).time_to_idle(policy.max_age).build(),
            None => builder.build(),
        };
        Self { http, policy, slots, observer }
    }

    fn slot(&self, url: &Url, source: KeySource) -> Arc<Slot> {
        self.slots.get_with_by_ref(url, || Arc::new(Slot { label: source.label(), ..Slot::default() }))
    }

    /// The document at `url`: cached, else fetched (one fetch per document at a time), else the last
    /// known good one while it is younger than `max_age`. Within the cool-down after a failed fetch,
    /// no request fetches: each gets the last known good document or "unavailable" at once.
    pub async fn get(&self, url: &Url, source: KeySource) -> Result<Arc<Metadata>, Rejection> {
        let slot = self.slot(url, source);
        if let Some(metadata) = slot.cached(self.policy.refresh_after, self.policy.clock) {
            return Ok(metadata);
        }
        if slot.cooldown_left(&self.policy).is_some() {
            return self.last_known_good(&slot);
        }
        let _single_flight = slot.fetching.lock().await;
        if let Some(metadata) = slot.cached(self.policy.refresh_after, self.policy.clock) {
            return Ok(metadata);
        }
        if slot.cooldown_left(&self.policy).is_some() {
            return self.last_known_good(&slot);
        }
        self.fetch(&slot, url).await
    }

    /// How long until a request may fetch the document at `url` again, while it cools down after a
    /// failed fetch; `None` when a request would use or fetch it now.
    pub fn cooldown_left(&self, url: &Url) -> Option<Duration> {
        self.slots.get(url)?.cooldown_left(&self.policy)
    }

    fn last_known_good(&self, slot: &Slot) -> Result<Arc<Metadata>, Rejection> {
        slot.cached(self.policy.max_age, self.policy.clock).ok_or(Rejection::KeysUnavailable)
    }

    async fn fetch(&self, slot: &Slot, url: &Url) -> Result<Arc<Metadata>, Rejection> {
        let authority = slot.label;
        let at = self.policy.clock.now();
        let fetched = match fetch::json::<Metadata>(&self.http, url, self.policy.timeout).await {
            Ok(metadata) if !acceptable_key_set_url(&metadata.jwks_uri, self.policy.allow_insecure_http) => {
                Err(Refused::InsecureKeySet)
            }
            other => other.map_err(Refused::from),
        };
        slot.record(at, fetched.is_ok());
        match fetched {
            Ok(metadata) => {
                (self.observer)(FetchEvent { authority, kind: FetchKind::Metadata, ok: true });
                let metadata = Arc::new(metadata);
                *slot.entry.lock().unwrap_or_else(PoisonError::into_inner) = Some((metadata.clone(), at));
                Ok(metadata)
            }
            Err(error) => {
                (self.observer)(FetchEvent { authority, kind: FetchKind::Metadata, ok: false });
                tracing::warn!(%url, %error, "OpenID metadata fetch failed; keeping the last known good document");
                self.last_known_good(slot)
            }
        }
    }

    /// Fetches every known document again (the background refresh), ignoring the cool-down.
    pub async fn refresh_all(&self) {
        let known: Vec<(Arc<Url>, Arc<Slot>)> = self.slots.iter().collect();
        for (url, slot) in known {
            let _single_flight = slot.fetching.lock().await;
            let _ = self.fetch(&slot, &url).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(failure_cooldown: Duration, max_failure_cooldown: Duration) -> MetadataPolicy {
        MetadataPolicy {
            timeout: Duration::from_secs(5),
            refresh_after: Duration::from_secs(3600),
            max_age: Duration::from_secs(24 * 3600),
            failure_cooldown,
            max_failure_cooldown,
            allow_insecure_http: false,
            clock: Clock::real(),
        }
    }

    #[test]
    fn the_failure_cooldown_doubles_with_each_consecutive_failure_up_to_its_maximum() {
        let policy = policy(Duration::from_secs(10), Duration::from_secs(300));
        let cooldowns: Vec<u64> = (0..8).map(|n| policy.cooldown_after(n).as_secs()).collect();
        assert_eq!(cooldowns, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(policy.cooldown_after(u32::MAX), Duration::from_secs(300));
        let capped = self::policy(Duration::from_secs(600), Duration::from_secs(300));
        assert_eq!(capped.cooldown_after(1), Duration::from_secs(300), "never above the maximum");
    }

    #[test]
    fn a_success_resets_the_failure_cooldown() {
        let policy = policy(Duration::from_secs(10), Duration::from_secs(300));
        let slot = Slot::default();
        assert_eq!(slot.cooldown_left(&policy), None, "never fetched");
        for _ in 0..3 {
            slot.record(Instant::now(), false);
        }
        let left = slot.cooldown_left(&policy).unwrap();
        assert!(left > Duration::from_secs(39) && left <= Duration::from_secs(40), "{left:?}");
        slot.record(Instant::now(), true);
        assert_eq!(slot.cooldown_left(&policy), None);
        slot.record(Instant::now(), false);
        let left = slot.cooldown_left(&policy).unwrap();
        assert!(left > Duration::from_secs(9) && left <= Duration::from_secs(10), "{left:?}");
    }

    #[test]
    fn key_sets_must_be_https_unless_insecure_http_is_allowed() {
        let https = Url::parse("https://login.microsoftonline.com/common/discovery/keys").unwrap();
        let http = Url::parse("http://127.0.0.1:8080/common/discovery/keys").unwrap();
        let file = Url::parse("file:///etc/keys.json").unwrap();
        assert!(acceptable_key_set_url(&https, false));
        assert!(!acceptable_key_set_url(&http, false));
        assert!(acceptable_key_set_url(&http, true));
        assert!(!acceptable_key_set_url(&file, true));
    }
}
