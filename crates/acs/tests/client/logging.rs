//! Logs carry what operators need (status, attempt, latency, ACS's MS-CV) and never a token,
//! a key or a secret.

use std::{
    io,
    sync::{Arc, Mutex},
};

use acs::{ClientSecretCredential, Credential};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::json;
use url::Url;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path_regex},
};

use crate::helpers::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's `acs` logs until the guard is dropped.
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("acs=trace")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn logs_name_status_and_ms_cv_but_never_tokens_keys_or_secrets() {
    let captured = Captured::default();
    let _guard = captured.install();

    let server = MockServer::start().await;
    let bearer = "bearer-secret-from-entra";
    Mock::given(method("POST"))
        .and(path_regex("/oauth2/v2.0/token$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": bearer, "expires_in": 3599})),
        )
        .mount(&server)
        .await;
    answer_exchange(&server, ResponseTemplate::new(503), Some(1)).await;
    answer_exchange(
        &server,
        acs_error(401, "InvalidAccessToken", "Provided access token is not valid.", None),
        Some(1),
    )
    .await;
    answer_exchange(&server, acs_error(403, "Forbidden", "Denied.", None), Some(1)).await;
    answer_exchange(&server, token_answer("2026-11-22T14:03:00Z"), None).await;
    let client = client(config());
    let principal = Credential::ClientSecret(ClientSecretCredential {
        authority_host: Url::parse(&server.uri()).unwrap(),
        tenant_id: "entra-tenant".into(),
        client_id: "client".into(),
        client_secret: "client-secret-shh".into(),
    });

    exchange(&client, &server, &access_key()).await.unwrap_err();
    exchange(&client, &server, &access_key()).await.unwrap_err();
    exchange(&client, &server, &principal).await.unwrap();

    let logs = captured.text();
    assert!(logs.contains("ZmFrZS1tcy1jdg.0"), "MS-CV missing:\n{logs}");
    assert!(logs.contains("status=503") && logs.contains("attempt=2"), "{logs}");
    assert!(logs.contains("ACS rejected the gateway's credential"), "{logs}");
    for secret in
        [ENTRA_TOKEN, ACS_TOKEN, bearer, "client-secret-shh", &STANDARD.encode(key_bytes()), "Signature="]
    {
        assert!(!logs.contains(secret), "{secret} leaked into the logs:\n{logs}");
    }
}

#[tokio::test]
async fn a_users_refusal_is_logged_with_acs_code_and_never_as_a_rejected_credential() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = MockServer::start().await;
    answer_exchange(&server, unlicensed_user(), None).await;

    exchange(&client(config()), &server, &access_key()).await.unwrap_err();

    let logs = captured.text();
    assert!(logs.contains("acs_code=\"UserLicenseNotPresentForbidden\""), "{logs}");
    assert!(!logs.contains("rejected the gateway's credential"), "{logs}");
    assert!(!logs.contains("ERROR") && !logs.contains("WARN"), "{logs}");
}
