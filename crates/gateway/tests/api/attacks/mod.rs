//! The attack table of entra-validation.md section 3, one named test per row, through the exchange
//! endpoint against the dev issuer. None of these tokens may reach ACS. The rows are grouped by what
//! they attack: the signature and its keys, the token's lifetime and encoding, and the claims.

mod claims;
mod encoding;
mod keys;
mod signatures;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use devstack::issuer::MintRequest;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{APP_ID, ENTRA_TENANT, TestApp, assert_problem},
    upstreams::{USER_ID, Upstreams, spawn_exchange_app},
};

pub(super) async fn setup() -> (TestApp, Upstreams, String) {
    let (app, up) = spawn_exchange_app(&[("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "300")]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    (app, up, slug)
}

/// Asserts a refusal with `code` and `detail`, that the token is not echoed, and that ACS saw nothing.
pub(super) async fn refused(
    app: &TestApp,
    up: &Upstreams,
    slug: &str,
    token: &str,
    status: StatusCode,
    code: &str,
    detail: &str,
) {
    let body = assert_problem(app.exchange(slug, token, None).await, status, code).await;
    assert_eq!(body["detail"], detail, "{body}");
    assert!(!body.to_string().contains(token), "the token is never echoed");
    assert_eq!(up.acs_exchanges(), 0, "nothing reached ACS");
}

pub(super) fn minted(up: &Upstreams, change: impl FnOnce(&mut MintRequest)) -> String {
    let mut request = MintRequest::new(ENTRA_TENANT, USER_ID, APP_ID);
    change(&mut request);
    up.mint(&request)
}

fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub(super) fn with_header(up: &Upstreams, header: Value) -> String {
    minted(up, |r| r.header = object(header))
}

pub(super) fn with_claims(up: &Upstreams, claims: Value) -> String {
    minted(up, |r| r.claims = object(claims))
}

/// `header.payload.signature` from JSON values, with any signature bytes.
pub(super) fn forge(header: &Value, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

pub(super) fn payload_of(token: &str) -> String {
    String::from_utf8(URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(super) const INVALID: StatusCode = StatusCode::UNAUTHORIZED;
pub(super) const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
