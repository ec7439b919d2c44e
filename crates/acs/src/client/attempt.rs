//! One HTTP attempt at the exchange, and what its answer means.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::retry::{is_retryable_status, retry_after};
use crate::{
    error::{AcsError, CommunicationError, UserRefusal, parse_error_body},
    exchange::{AcsToken, parse_token_response},
    http::read_limited,
    observer::TransportError,
    signing::HmacHeaders,
};

/// The ACS code for "the caller's Entra token is bad", as opposed to "our credential is bad".
const INVALID_ACCESS_TOKEN: &str = "InvalidAccessToken";

/// How this attempt authenticates: fresh HMAC headers, or a (cached) bearer token.
pub(crate) enum Auth {
    Hmac(HmacHeaders),
    Bearer(SecretString),
}

/// What one attempt produced, with what is worth logging and counting about it.
pub(crate) struct Attempt {
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub error: Option<TransportError>,
    /// ACS's correlation vector (`MS-CV`): what Azure support asks for.
    pub ms_cv: Option<String>,
    /// ACS's error code (and inner code: `Code/Inner`), when it sent one. For logs.
    pub acs_code: Option<String>,
    pub duration: Duration,
}

pub(crate) enum Outcome {
    Token(AcsToken),
    /// Worth another try, if time and attempts allow; otherwise `error` is the answer.
    Retry {
        error: AcsError,
        retry_after: Option<Duration>,
    },
    Fail(AcsError),
}

struct Response {
    status: u16,
    headers: HeaderMap,
    /// `Ok(None)`: larger than the limit.
    body: Result<Option<Vec<u8>>, reqwest::Error>,
}

/// Sends the exchange once, bounded by `timeout` from sending to the last byte of the answer.
pub(crate) async fn send(
    http: &reqwest::Client,
    url: &Url,
    body: &[u8],
    auth: &Auth,
    client_request_id: &str,
    timeout: Duration,
) -> Attempt {
    let mut request = http
        .post(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json")
        .header("x-ms-client-request-id", client_request_id)
        .header("x-ms-return-client-request-id", "true")
        .body(body.to_vec());
    request = match auth {
        Auth::Hmac(headers) => {
            headers.iter().fold(request, |request, (name, value)| match sensitive(value) {
                Some(value) => request.header(name, value),
                None => request,
            })
        }
        Auth::Bearer(token) => request.bearer_auth(token.expose_secret()),
    };

    let started = Instant::now();
    let answer = tokio::time::timeout(timeout, async {
        let mut response = request.send().await?;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let body = read_limited(&mut response).await;
        Ok::<_, reqwest::Error>(Response { status, headers, body })
    })
    .await;
    let duration = started.elapsed();

    match answer {
        Err(_) => transport_failure(TransportError::Timeout, duration),
        Ok(Err(error)) => {
            tracing::debug!(error = %error, "ACS exchange attempt got no response");
            transport_failure(TransportError::of(&error), duration)
        }
        Ok(Ok(response)) => interpret(response, duration),
    }
}

fn transport_failure(error: TransportError, duration: Duration) -> Attempt {
    let outcome = match error {
        // Nothing reached ACS: safe to retry a POST.
        TransportError::Connect => {
            Outcome::Retry { error: AcsError::Unavailable { retry_after: None }, retry_after: None }
        }
        TransportError::Timeout => Outcome::Fail(AcsError::Timeout),
        // ACS may have processed the request; do not send it again.
        TransportError::Io => Outcome::Fail(AcsError::Unavailable { retry_after: None }),
    };
    Attempt { outcome, status: None, error: Some(error), ms_cv: None, acs_code: None, duration }
}

fn interpret(response: Response, duration: Duration) -> Attempt {
    let Response { status, headers, body } = response;
    let ms_cv = headers.get("ms-cv").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (body, error) = match body {
        Ok(body) => (body, None),
        Err(e) => {
            tracing::debug!(error = %e, status, "the ACS answer's body could not be read");
            (None, Some(TransportError::Io))
        }
    };
    let acs_error = if status == 200 { None } else { body.as_deref().and_then(parse_error_body) };
    let acs_code = acs_error.as_ref().map(|e| match &e.innererror {
        Some(inner) => format!("{}/{}", e.code, inner.code),
        None => e.code.clone(),
    });
    let outcome = classify(status, &headers, body, error.is_some(), acs_error);
    Attempt { outcome, status: Some(status), error, ms_cv, acs_code, duration }
}

/// The reference's status rules (section 1) and the gateway's mapping of them.
fn classify(
    status: u16,
    headers: &HeaderMap,
    body: Option<Vec<u8>>,
    body_broken: bool,
    acs_error: Option<CommunicationError>,
) -> Outcome {
    if is_retryable_status(status) {
        // The body does not matter here, so a broken one does not stop a retry.
        let retry_after = retry_after(headers, SystemTime::now());
        let error = match status {
            429 => AcsError::Throttled { retry_after },
            _ => AcsError::Unavailable { retry_after },
        };
        return Outcome::Retry { error, retry_after };
    }
    if body_broken {
        // ACS may have processed the request: never send the POST again.
        return Outcome::Fail(AcsError::Unavailable { retry_after: None });
    }
    let code = acs_error.as_ref().map(|e| e.code.clone());
    Outcome::Fail(match (status, body) {
        (200, Some(body)) => return parse_token_response(&body).map_or_else(Outcome::Fail, Outcome::Token),
        (200, None) => AcsError::Protocol("the exchange answer is larger than expected".into()),
        (400, _) => match acs_error {
            Some(e) => AcsError::BadRequest { code: e.code, message: e.message, target: e.target },
            None => AcsError::BadRequest {
                code: "BadRequest".into(),
                message: "ACS refused the request without saying why".into(),
                target: None,
            },
        },
        (401, _) if code.as_deref() == Some(INVALID_ACCESS_TOKEN) => AcsError::InvalidToken,
        // The user's licence or organisation, not our credential: only the codes known to say so.
        (401 | 403, _) => match code.as_deref().and_then(UserRefusal::from_acs_code) {
            Some(refusal) => AcsError::UserRefused(refusal),
            None => AcsError::CredentialRejected { status, code },
        },
        _ => AcsError::Protocol(format!(
            "ACS answered HTTP {status}{}",
            code.map(|code| format!(" ({code})")).unwrap_or_default()
        )),
    })
}

/// Marks the HMAC `Authorization` value (and its companions) sensitive, so HTTP-level debug output
/// redacts it. The values are ASCII by construction; a value that is not is dropped, and ACS will
/// answer 401, which is then reported as a rejected credential.
fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}
