//! The one bounded HTTP fetch for everything read from an upstream (OpenID metadata, key sets, a
//! webhook's answer, ACS's token): a timeout on the whole request and a size limit on the answer, so a
//! hostile or broken endpoint can neither hold a request nor make the gateway buffer without limit.

use std::time::Duration;

use reqwest::{Client, Response};
use serde::de::DeserializeOwned;
use url::Url;

/// Metadata documents and key sets are a few KiB; a larger answer is not one of them.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// Why a fetch gave no usable answer; for logs, never shown to a caller.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads the rest of `response`, refusing it as soon as it is known to exceed `limit` bytes (by its
/// declared length, else while it streams).
pub async fn read_bounded(response: &mut Response, limit: usize) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(FetchError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// GETs the JSON document at `url` within `timeout`: a success status and at most
/// [`MAX_DOCUMENT_BYTES`], read as `T`.
pub async fn json<T: DeserializeOwned>(http: &Client, url: &Url, timeout: Duration) -> Result<T, FetchError> {
    let request = http.get(url.clone()).header(reqwest::header::ACCEPT, "application/json").timeout(timeout);
    let mut response = request.send().await?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let body = read_bounded(&mut response, MAX_DOCUMENT_BYTES).await?;
    Ok(serde_json::from_slice(&body)?)
}
