//! Authentication of Identity requests: an HMAC-SHA256 signature made with the access key, or an
//! Entra bearer token for `https://communication.azure.com/` from the dev issuer. Any failure is
//! 401 `InvalidAuthentication` with a message naming the check that failed, except that a bearer
//! token cannot be judged while the dev issuer's keys are unreachable: that is 503.

use std::time::SystemTime;

use actix_web::{
    HttpRequest,
    http::header::{AUTHORIZATION, HOST},
};
use serde::de::IgnoredAny;

use super::{
    entra_token::{self, TokenFailure},
    error::AcsError,
    hmac_auth::{self, ReceivedRequest},
    state::Shared,
};

/// `aud` values accepted on bearer tokens: the resource, with or without its trailing slash.
const BEARER_AUDIENCES: [&str; 2] = ["https://communication.azure.com/", "https://communication.azure.com"];

/// Which credential authenticated the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    AccessKey,
    Bearer,
}

pub(crate) async fn authenticate(
    shared: &Shared,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Credential, AcsError> {
    let outcome = check(shared, req, body).await;
    match outcome {
        Ok(credential) => shared.counters.credential_accepted(credential),
        Err(ref error) if error.code() == AcsError::AUTHENTICATION_CODE => {
            shared.counters.auth_failure();
            tracing::debug!(%error, path = req.path(), "authentication failed");
        }
        Err(ref error) => tracing::debug!(%error, path = req.path(), "authentication not possible"),
    }
    outcome
}

async fn check(shared: &Shared, req: &HttpRequest, body: &[u8]) -> Result<Credential, AcsError> {
    let authorization = header(req, AUTHORIZATION.as_str())
        .ok_or_else(|| AcsError::authentication("the Authorization header is missing"))?;
    let (scheme, credentials) = authorization.split_once(' ').unwrap_or((authorization, ""));
    if scheme.eq_ignore_ascii_case("HMAC-SHA256") {
        let received = ReceivedRequest {
            method: req.method().as_str(),
            path_and_query: req.uri().path_and_query().map_or_else(|| req.uri().path(), |pq| pq.as_str()),
            host: header(req, HOST.as_str()),
            date: header(req, "x-ms-date"),
            content_sha256: header(req, "x-ms-content-sha256"),
            credentials,
            body,
        };
        hmac_auth::verify(&shared.access_key, &received, SystemTime::now())
            .map_err(|failure| AcsError::authentication(failure.to_string()))?;
        Ok(Credential::AccessKey)
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        entra_token::verify::<IgnoredAny>(&shared.keys, credentials.trim(), &BEARER_AUDIENCES)
            .await
            .map_err(|failure| match failure {
                TokenFailure::KeysUnavailable => AcsError::keys_unavailable(),
                failure => AcsError::authentication(format!("bearer token refused: {failure}")),
            })?;
        Ok(Credential::Bearer)
    } else {
        Err(AcsError::authentication("the Authorization scheme must be HMAC-SHA256 or Bearer"))
    }
}

/// A header's value when present and visible ASCII; anything else counts as absent.
fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|value| value.to_str().ok())
}
