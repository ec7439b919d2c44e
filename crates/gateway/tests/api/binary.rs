//! The real `acs-gateway serve` as a child process, for what only the binary shows: its log lines on
//! stderr and how it stops on SIGTERM.

use std::{
    io::Read,
    process::{Child, Command, ExitStatus, Stdio},
    thread::JoinHandle,
    time::Duration,
};

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{
    helpers::{APP_ID, KEYRING, http_client},
    upstreams::USER_ID,
};

/// `acs-gateway serve` with its stderr collected until it stops; killed if the test ends first.
pub struct Binary {
    child: Child,
    address: String,
    logs: Option<JoinHandle<String>>,
}

/// How a stopped gateway exited and every line it wrote on stderr.
pub struct Exit {
    pub status: ExitStatus,
    pub lines: Vec<String>,
}

impl Exit {
    /// The lines that are JSON log events.
    pub fn json(&self) -> Vec<Value> {
        self.lines.iter().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}

impl Binary {
    /// Starts the binary on a free port of 127.0.0.1 with `database_url`, the test keyring, plain http
    /// and Entra at `authority_host`, then `settings` (which win; the rest of its environment is
    /// cleared), and waits until it answers `/healthz`.
    pub async fn serve(database_url: &str, authority_host: &str, settings: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_acs-gateway"))
            .arg("serve")
            .env_clear()
            .env("DATABASE_URL", database_url)
            .env("ACSGW_SECRET_KEYS", KEYRING)
            .env("ACSGW_LISTEN", &address)
            .env("ACSGW_ENTRA_AUTHORITY_HOST", authority_host)
            .env("ACSGW_ALLOW_INSECURE_HTTP", "true")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let binary = Self { child, address, logs: Some(logs) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_client().get(binary.url("/healthz")).send().await.is_err() {
            assert!(Instant::now() < deadline, "acs-gateway serve never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        binary
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// An exchange of `a1` for the test user of `slug`, ready to send.
    pub fn exchange(&self, client: &reqwest::Client, slug: &str, a1: &str) -> reqwest::RequestBuilder {
        client
            .post(self.url(&format!("/v1/tenants/{slug}/token/teams")))
            .json(&json!({"token": a1, "appId": APP_ID, "userId": USER_ID}))
    }

    /// Sends SIGTERM, as an orchestrator stopping the gateway would.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    }

    /// Sends SIGTERM and waits for the exit (a gateway that never exits fails the test).
    pub async fn stop(mut self) -> Exit {
        self.terminate();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "acs-gateway did not stop after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let text = self.logs.take().unwrap().join().unwrap();
        Exit { status, lines: text.lines().map(str::to_owned).collect() }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
