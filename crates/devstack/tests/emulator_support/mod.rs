//! Shared helpers for the emulator's integration tests: a stand-in Entra issuer, a request
//! signer, and an emulator started on a real port with a client that signs like the SDKs.
#![allow(dead_code, reason = "each test crate uses a different part of the helpers")]

pub mod entra;
pub mod python;
pub mod signing;

use std::{net::TcpListener, time::SystemTime};

use devstack::emulator::{self, Clock, EmulatorConfig, Faults, RunningEmulator};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use self::entra::StandInEntra;

pub const API_VERSION: &str = "api-version=2023-10-01";
pub const EXCHANGE_PATH: &str = "/teamsUser/:exchangeAccessToken?api-version=2023-10-01";

pub struct TestStack {
    pub entra: StandInEntra,
    pub emulator: RunningEmulator,
    pub key: Vec<u8>,
    pub resource_id: Uuid,
    pub client: reqwest::Client,
}

impl TestStack {
    pub async fn start() -> Self {
        Self::start_with(Faults::default()).await
    }

    pub async fn start_with(faults: Faults) -> Self {
        let entra = StandInEntra::start().await;
        let key = rand::random::<[u8; 32]>().to_vec();
        let resource_id = Uuid::new_v4();
        let config = EmulatorConfig {
            access_key: key.clone(),
            resource_id,
            entra_url: entra.base_url().to_owned(),
            faults,
            // Stands still: a test that needs the key refetch cool-down over moves it.
            clock: Clock::manual(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the emulator");
        let emulator = emulator::start(listener, config).await.expect("start the emulator");
        let client = reqwest::Client::builder().no_proxy().build().expect("reqwest client");
        Self { entra, emulator, key, resource_id, client }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.emulator.endpoint())
    }

    /// `127.0.0.1:PORT`, what reqwest sends as `Host`.
    pub fn host(&self) -> &str {
        self.emulator.endpoint().trim_start_matches("http://")
    }

    /// A request signed now with the emulator's key, exactly as an SDK would send it.
    pub fn signed(
        &self,
        method: Method,
        path_and_query: &str,
        body: impl Into<Vec<u8>>,
    ) -> reqwest::RequestBuilder {
        self.signed_with(&self.key, SystemTime::now(), method, path_and_query, body)
    }

    pub fn signed_with(
        &self,
        key: &[u8],
        at: SystemTime,
        method: Method,
        path_and_query: &str,
        body: impl Into<Vec<u8>>,
    ) -> reqwest::RequestBuilder {
        let body = body.into();
        let headers = signing::sign(key, method.as_str(), path_and_query, self.host(), &body, at);
        self.client
            .request(method, self.url(path_and_query))
            .header("x-ms-date", headers.date)
            .header("x-ms-content-sha256", headers.content_sha256)
            .header("Authorization", headers.authorization)
            .header("Content-Type", "application/json")
            .body(body)
    }

    /// A signed `POST` of `body` (serialised compactly) to the exchange route.
    pub async fn exchange(&self, body: &Value) -> reqwest::Response {
        self.signed(Method::POST, EXCHANGE_PATH, body.to_string()).send().await.expect("exchange request")
    }

    pub async fn stop(&self) {
        self.emulator.stop().await;
        self.entra.stop().await;
    }
}

/// `{"error": {"code": ...}}` of an error response, or a panic saying what came instead.
pub async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error body");
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    (status, body["error"].clone())
}
