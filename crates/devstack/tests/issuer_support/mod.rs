//! Helpers for `tests/issuer.rs`: a real dev issuer on a real socket, a reqwest client, and token
//! verification the way a relying party does it (find the key by `kid` in the published JWKS, then
//! `jsonwebtoken` with RS256 only).

use std::net::TcpListener;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use devstack::{
    emulator::Clock,
    issuer::{DevIssuer, RunningIssuer},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// One running issuer per test, so key rotations and fetch counts never leak between tests.
pub struct TestIssuer {
    pub running: RunningIssuer,
    http: reqwest::Client,
}

impl TestIssuer {
    pub async fn spawn() -> Self {
        Self::spawn_issuer(DevIssuer::new().unwrap()).await
    }

    /// An issuer timing its authorization codes with `clock`.
    pub async fn spawn_with_clock(clock: Clock) -> Self {
        Self::spawn_issuer(DevIssuer::with_clock(clock).unwrap()).await
    }

    async fn spawn_issuer(issuer: DevIssuer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let running = issuer.start(listener).await.unwrap();
        Self { running, http: http_client() }
    }

    pub fn issuer(&self) -> &DevIssuer {
        self.running.issuer()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        read(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        read(self.http.post(self.url(path)).json(body).send().await.unwrap()).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        read(self.http.post(self.url(path)).form(form).send().await.unwrap()).await
    }

    /// `POST /dev/tokens`, expecting success.
    pub async fn mint(&self, request: Value) -> String {
        let (status, body) = self.post_json("/dev/tokens", &request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// The JWKS at `/{tenant}/discovery/keys` (or `/v2.0/keys`).
    pub async fn key_set(&self, tenant: &str, v2: bool) -> Value {
        let version = if v2 { "v2.0/" } else { "" };
        let (status, body) = self.get(&format!("/{tenant}/discovery/{version}keys")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Verifies `token` against the tenant's published v1 or v2 key set, as a relying party would.
    pub async fn verify(&self, token: &str, tenant: &str, v2: bool) -> Result<Map<String, Value>, String> {
        let key_set: JwkSet = serde_json::from_value(self.key_set(tenant, v2).await).unwrap();
        verify_with(token, &key_set)
    }
}

/// Looks the key up by the header's `kid` and checks signature, `exp` and `nbf` with RS256 only.
pub fn verify_with(token: &str, key_set: &JwkSet) -> Result<Map<String, Value>, String> {
    let (header, _) = decode_unverified(token);
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let jwk = key_set.find(kid).ok_or_else(|| format!("kid {kid} is not published"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud"]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

/// The header and claims of a compact JWS, without checking anything.
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut next =
        || serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    (next(), next())
}

/// A mint request body for fresh GUIDs, with `extra` members merged in.
pub fn mint_body(tenant: Uuid, extra: Value) -> Value {
    let mut body = json!({
        "tenantId": tenant.to_string(),
        "oid": Uuid::new_v4().to_string(),
        "appId": Uuid::new_v4().to_string(),
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text:?}"));
    (status, body)
}

/// An HTTP client for tests, with a timeout: a hung server fails the test instead of holding it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}
