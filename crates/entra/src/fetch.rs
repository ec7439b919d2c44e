//! Fetching small JSON documents (OpenID metadata, key sets) with a bounded size and time.

use std::time::Duration;

use serde::de::DeserializeOwned;
use url::Url;

/// Metadata and key sets are a few KiB; a larger answer is not one of them.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("document too large")]
    TooLarge,
    #[error("not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub async fn json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &Url,
    timeout: Duration,
) -> Result<T, FetchError> {
    let mut response = http.get(url.clone()).timeout(timeout).send().await?;
    if !response.status().is_success() {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(serde_json::from_slice(&body)?)
}
