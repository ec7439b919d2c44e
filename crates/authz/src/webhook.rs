//! One call to a tenant's webhook (the contract is in the crate documentation): a signed POST naming
//! the user, answered `200 {"allow": bool}`. Everything else is a failure, which the caller turns
//! into "unavailable": a decision is never made up.

use std::{fmt::Write as _, time::Duration};

use hmac::{Hmac, Mac};
use jose::fetch::{FetchError, read_bounded};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use url::Url;
use uuid::Uuid;

use crate::{ServiceFailure, Subject};

/// A decision is one small JSON object; anything far larger is not one.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub const TIMESTAMP_HEADER: &str = "X-ACSGW-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-ACSGW-Signature";
pub const AUTHORIZATION_HEADER: &str = "X-ACSGW-Authorization";

/// A webhook request, borrowed from the policy and the check.
pub struct Call<'a> {
    pub url: &'a Url,
    pub secret: &'a [u8],
    pub timeout: Duration,
    pub subject: &'a Subject,
    pub bearer: &'a str,
}

#[derive(Serialize)]
struct Question<'a> {
    tenant: &'a str,
    tid: Uuid,
    oid: Uuid,
    #[serde(rename = "appId")]
    app_id: Uuid,
}

/// Whether the vendor allows this user, or why it gave no answer.
pub async fn ask(http: &reqwest::Client, call: Call<'_>) -> Result<bool, ServiceFailure> {
    match tokio::time::timeout(call.timeout, exchange(http, &call)).await {
        Ok(answer) => answer,
        Err(_elapsed) => Err(ServiceFailure::Timeout),
    }
}

async fn exchange(http: &reqwest::Client, call: &Call<'_>) -> Result<bool, ServiceFailure> {
    let subject = call.subject;
    let question =
        Question { tenant: &subject.tenant, tid: subject.tid, oid: subject.oid, app_id: subject.app_id };
    let body = serde_json::to_vec(&question).map_err(|_| ServiceFailure::Malformed)?;
    let timestamp = unix_seconds().to_string();
    let request = http
        .post(call.url.clone())
        .timeout(call.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::ACCEPT, "application/json")
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(SIGNATURE_HEADER, signature(call.secret, &timestamp, &body)?)
        .header(AUTHORIZATION_HEADER, format!("Bearer {}", call.bearer))
        .body(body);
    let mut response = request.send().await.map_err(|e| transport(&e))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(ServiceFailure::Status(response.status().as_u16()));
    }
    let body = read_bounded(&mut response, MAX_ANSWER_BYTES).await.map_err(|error| match error {
        FetchError::Transport(error) => transport(&error),
        FetchError::TooLarge(_) | FetchError::Status(_) | FetchError::Json(_) => ServiceFailure::Malformed,
    })?;
    read_answer(&body)
}

/// `{"allow": <bool>}`; other members are ignored, a duplicate or non-boolean `allow` is malformed.
fn read_answer(body: &[u8]) -> Result<bool, ServiceFailure> {
    match jose::json::object(body).map_err(|_| ServiceFailure::Malformed)?.get("allow") {
        Some(Value::Bool(allow)) => Ok(*allow),
        _ => Err(ServiceFailure::Malformed),
    }
}

fn transport(error: &reqwest::Error) -> ServiceFailure {
    if error.is_timeout() { ServiceFailure::Timeout } else { ServiceFailure::Unreachable }
}

/// `v1=` and the lowercase hex HMAC-SHA256 of `timestamp.body` under the tenant's secret.
fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> Result<String, ServiceFailure> {
    // HMAC accepts keys of every length, so this error is only the type's.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| ServiceFailure::Malformed)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let mut signature = String::from("v1=");
    for byte in mac.finalize().into_bytes() {
        let _ = write!(signature, "{byte:02x}");
    }
    Ok(signature)
}

fn unix_seconds() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    since_epoch.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_of_timestamp_dot_body() {
        // Computed independently: `hmac.new(b"Jefe", b'1700000000.{"allow":true}', sha256)`.
        let signature = signature(b"Jefe", "1700000000", br#"{"allow":true}"#).unwrap();
        assert_eq!(signature, "v1=7f4bf233884b0bec040f94065b5aed49da075b6a43ec64e6ee21d26f8813ef85");
    }

    #[test]
    fn the_question_names_the_user_with_camel_case_app_id() {
        let id = uuid::uuid!("11111111-2222-3333-4444-555555555555");
        let question = Question { tenant: "fabrikam", tid: id, oid: id, app_id: id };
        assert_eq!(
            serde_json::to_string(&question).unwrap(),
            format!(r#"{{"tenant":"fabrikam","tid":"{id}","oid":"{id}","appId":"{id}"}}"#)
        );
    }
}
