//! OpenID metadata per authority and token version: where expected issuers and key sets come from.
//! Never built from the authority host: real v1 issuers live on `sts.windows.net` whatever the host.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use serde::Deserialize;
use url::Url;

use crate::{
    Rejection, fetch,
    observe::{FetchEvent, FetchKind, Observer},
};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    /// The issuer, possibly with a `{tenantid}` template.
    pub issuer: String,
    pub jwks_uri: Url,
}

#[derive(Default)]
struct Slot {
    entry: Mutex<Option<(Arc<Metadata>, Instant)>>,
    /// One fetch per document at a time; others wait for its result.
    fetching: tokio::sync::Mutex<()>,
}

impl Slot {
    fn cached(&self, fresh_for: Duration) -> Option<Arc<Metadata>> {
        let entry = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        entry.as_ref().filter(|(_, fetched)| fetched.elapsed() < fresh_for).map(|(m, _)| m.clone())
    }
}

pub struct MetadataCache {
    http: reqwest::Client,
    timeout: Duration,
    /// A document younger than this is used without asking again.
    refresh_after: Duration,
    /// Past this, a document that cannot be refreshed is no longer trusted.
    max_age: Duration,
    slots: Mutex<HashMap<Url, Arc<Slot>>>,
    observer: Observer,
}

impl MetadataCache {
    pub fn new(
        http: reqwest::Client,
        timeout: Duration,
        refresh_after: Duration,
        max_age: Duration,
        observer: Observer,
    ) -> Self {
        Self { http, timeout, refresh_after, max_age, slots: Mutex::new(HashMap::new()), observer }
    }

    fn slot(&self, url: &Url) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(url.clone()).or_default().clone()
    }

    /// The document at `url`: cached, else fetched (one fetch per document at a time), else the last
    /// known good one while it is younger than `max_age`.
    pub async fn get(&self, url: &Url, authority: &str) -> Result<Arc<Metadata>, Rejection> {
        let slot = self.slot(url);
        if let Some(metadata) = slot.cached(self.refresh_after) {
            return Ok(metadata);
        }
        let _single_flight = slot.fetching.lock().await;
        if let Some(metadata) = slot.cached(self.refresh_after) {
            return Ok(metadata);
        }
        self.fetch(&slot, url, authority).await
    }

    async fn fetch(&self, slot: &Slot, url: &Url, authority: &str) -> Result<Arc<Metadata>, Rejection> {
        match fetch::json::<Metadata>(&self.http, url, self.timeout).await {
            Ok(metadata) => {
                (self.observer)(FetchEvent { authority, kind: FetchKind::Metadata, ok: true });
                let metadata = Arc::new(metadata);
                *slot.entry.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((metadata.clone(), Instant::now()));
                Ok(metadata)
            }
            Err(error) => {
                (self.observer)(FetchEvent { authority, kind: FetchKind::Metadata, ok: false });
                tracing::warn!(%url, %error, "OpenID metadata fetch failed; keeping the last known good document");
                slot.cached(self.max_age).ok_or(Rejection::KeysUnavailable)
            }
        }
    }

    /// Fetches every known document again (the background refresh).
    pub async fn refresh_all(&self, authority_of: impl Fn(&Url) -> String) {
        let known: Vec<(Url, Arc<Slot>)> = {
            let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.iter().map(|(u, s)| (u.clone(), s.clone())).collect()
        };
        for (url, slot) in known {
            let _single_flight = slot.fetching.lock().await;
            let _ = self.fetch(&slot, &url, &authority_of(&url)).await;
        }
    }
}
