//! Keeping requests in flight: workers take prepared requests in turn until a duration passes or a
//! number of requests was sent, and time every answer.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::web::Bytes;
use anyhow::Context as _;
use reqwest::{
    Method, Url,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue},
};

/// One measured answer: latency and HTTP status (0 when the request failed).
pub struct Sample {
    pub latency: Duration,
    pub status: u16,
    /// From the start of the run to this answer.
    pub elapsed_total: Duration,
}

impl Sample {
    /// Times `request` from now; `started` is the start of the run.
    pub async fn of(started: Instant, request: reqwest::RequestBuilder) -> Self {
        let sent = Instant::now();
        let status = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read to the end, so the connection goes back to the pool.
                let _ = response.bytes().await;
                status
            }
            Err(_) => 0,
        };
        Self { latency: sent.elapsed(), status, elapsed_total: started.elapsed() }
    }
}

/// A request built once and sent many times.
pub struct Prepared {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Bytes,
}

impl Prepared {
    /// `POST url` with a JSON body and, when given, B as a bearer token.
    pub fn post_json(url: &Url, body: String, bearer: Option<&str>) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(b) = bearer {
            headers.insert(AUTHORIZATION, value(&format!("Bearer {b}"))?);
        }
        Ok(Self { method: Method::POST, url: url.clone(), headers, body: Bytes::from(body) })
    }

    /// The hero sample's request: `GET url` with A1 in `teams-user-aad-token`, the tenant in
    /// `X-Tenant`, and B as a bearer token.
    pub fn hero_get(url: &Url, tenant: &str, a1: &str, b: &str) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("teams-user-aad-token"), value(a1)?);
        headers.insert(HeaderName::from_static("x-tenant"), value(tenant)?);
        headers.insert(AUTHORIZATION, value(&format!("Bearer {b}"))?);
        Ok(Self { method: Method::GET, url: url.clone(), headers, body: Bytes::new() })
    }

    pub fn build(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let request = client.request(self.method.clone(), self.url.clone()).headers(self.headers.clone());
        if self.body.is_empty() { request } else { request.body(self.body.clone()) }
    }
}

fn value(text: &str) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(text).context("a token is not a valid header value")
}

/// How long a run lasts and how much it sends.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Stop sending once this much time has passed.
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub limit: usize,
}

impl Load {
    /// Every request once, however long it takes.
    pub fn once_each(concurrency: usize, requests: usize) -> Self {
        Self { concurrency, duration: None, limit: requests }
    }
}

/// Keeps `load.concurrency` requests in flight, taking `requests` in turn (from the first again
/// after the last), until the duration passes or the limit is reached.
pub async fn drive(client: &reqwest::Client, requests: &Arc<Vec<Prepared>>, load: Load) -> Vec<Sample> {
    if requests.is_empty() {
        return Vec::new();
    }
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers = (0..load.concurrency).map(|_| {
        let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= load.limit || load.duration.is_some_and(|d| started.elapsed() >= d) {
                    return samples;
                }
                let request = requests[n % requests.len()].build(&client);
                samples.push(Sample::of(started, request).await);
            }
        })
    });
    let mut all = Vec::new();
    for worker in futures_util::future::join_all(workers).await {
        all.extend(worker.unwrap_or_default());
    }
    all
}
