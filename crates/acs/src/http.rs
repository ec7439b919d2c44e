//! The one outbound HTTP client and bounded body reading.

use std::time::Duration;

use jose::fetch::{FetchError, read_bounded};
use reqwest::{Client, Response, redirect};

/// The largest response body read from an upstream. ACS tokens and error bodies are a few KiB; a
/// misbehaving proxy must not make the gateway buffer megabytes.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Keep-alive pooling (ACS answers in tens of milliseconds; a TLS handshake costs more than that),
/// a connect timeout, and no redirects: ACS never redirects, and following one would send a signed
/// request or a bearer token somewhere else. Per-attempt timeouts are applied per request.
pub(crate) fn build_client(connect_timeout: Duration) -> reqwest::Result<Client> {
    Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(60))
        .redirect(redirect::Policy::none())
        .user_agent(concat!("acs-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Reads at most [`MAX_BODY_BYTES`] with jose's bounded read; `Ok(None)` when the body is larger.
pub(crate) async fn read_limited(response: &mut Response) -> reqwest::Result<Option<Vec<u8>>> {
    match read_bounded(response, MAX_BODY_BYTES).await {
        Ok(body) => Ok(Some(body)),
        Err(FetchError::Transport(error)) => Err(error),
        Err(FetchError::TooLarge(_) | FetchError::Status(_) | FetchError::Json(_)) => Ok(None),
    }
}
