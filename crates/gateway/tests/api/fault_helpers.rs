//! Upstreams that misbehave on cue, for the fault suite: an ACS double (wiremock) whose answers a test
//! scripts request by request, and a switch in front of the dev Entra issuer that cuts it off and
//! puts it back on the same address.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use serde_json::json;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use wiremock::{
    Mock, MockServer, Respond, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{ACCESS_KEY, TestApp},
    upstreams::{Upstreams, spawn_exchange_app},
};

const EXCHANGE_PATH: &str = "/teamsUser/:exchangeAccessToken";

/// A gateway on fresh upstreams whose per-user limit never gets in the way of a fault test.
pub async fn spawn_fault_app(overrides: &[(&str, &str)]) -> (TestApp, Upstreams) {
    let mut settings = vec![("ACSGW_USER_EXCHANGES_PER_MINUTE", "10000")];
    settings.extend_from_slice(overrides);
    spawn_exchange_app(&settings).await
}

/// A stand-in for a tenant's ACS resource that answers the exchange as `answer` says.
pub struct AcsDouble {
    server: MockServer,
}

impl AcsDouble {
    pub async fn start(answer: impl Respond + 'static) -> Self {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path(EXCHANGE_PATH)).respond_with(answer).mount(&server).await;
        Self { server }
    }

    /// The tenant change that points its ACS connection here.
    pub fn tenant_change(&self) -> serde_json::Value {
        let connection_string = format!("endpoint={}/;accesskey={ACCESS_KEY}", self.server.uri());
        json!({"acs": {"connectionString": connection_string}})
    }

    /// Exchange requests that reached this double so far.
    pub async fn exchanges(&self) -> Vec<wiremock::Request> {
        let all = self.server.received_requests().await.expect("requests are recorded");
        all.into_iter().filter(|request| request.url.path() == EXCHANGE_PATH).collect()
    }

    pub async fn exchange_count(&self) -> usize {
        self.exchanges().await.len()
    }
}

/// ACS's answer to a good exchange: a token valid for an hour.
pub fn acs_token() -> ResponseTemplate {
    let expires_on =
        (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    ResponseTemplate::new(200)
        .set_body_json(json!({"token": "eyJhbGciOiJSUzI1NiJ9.acs-user-token.sig", "expiresOn": expires_on}))
}

/// ACS's error body with `status`.
pub fn acs_error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"error": {"code": code, "message": code}}))
}

/// Answers every `n`th request (the `n`th, the `2n`th, ...) with a 5xx, cycling through ACS's
/// transient ones, and all others with a token: a failure rate of exactly `1/n`, in a known order.
pub fn failing_every(n: usize) -> impl Respond {
    let seen = AtomicUsize::new(0);
    let failures = [(503, "ServiceUnavailable"), (500, "InternalServerError"), (502, "BadGateway")];
    move |_: &wiremock::Request| {
        let number = seen.fetch_add(1, Ordering::SeqCst) + 1;
        if number.is_multiple_of(n) {
            let (status, code) = failures[(number / n - 1) % failures.len()];
            acs_error(status, code)
        } else {
            acs_token()
        }
    }
}

/// Answers 503 until the returned switch is set, then a token.
pub fn down_until_revived() -> (impl Respond, Arc<AtomicBool>) {
    let alive = Arc::new(AtomicBool::new(false));
    let answer_alive = Arc::clone(&alive);
    let answer = move |_: &wiremock::Request| {
        if answer_alive.load(Ordering::SeqCst) { acs_token() } else { acs_error(503, "ServiceUnavailable") }
    };
    (answer, alive)
}

/// A TCP forwarder to `target` that can be switched off, which cuts every open connection and
/// closes each new one at once, and on again, on the same address throughout.
pub struct Switch {
    address: SocketAddr,
    on: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl Switch {
    /// Forwards to `target`, an `http://host:port` base URL.
    pub async fn start(target: &str) -> Self {
        let target: SocketAddr = target.trim_start_matches("http://").parse().expect("an http://ip:port URL");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (on, state) = watch::channel(true);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                let mut state = state.clone();
                if !*state.borrow_and_update() {
                    continue; // dropped: closed at once
                }
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else { return };
                    tokio::select! {
                        biased;
                        _ = state.wait_for(|on| !*on) => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                    }
                });
            }
        });
        Self { address, on, accepting }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Cuts every forwarded connection and refuses new ones (accepts and closes them).
    pub fn turn_off(&self) {
        self.on.send_replace(false);
    }

    pub fn turn_on(&self) {
        self.on.send_replace(true);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}
