use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use acs::{
    AccessKey, AcsClient, AcsClientConfig, AcsError, AcsTarget, AcsToken, BreakerConfig, Credential,
    ExchangeRequest, UpstreamCall, UpstreamKind,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

pub const TENANT: &str = "fabrikam";
pub const EXCHANGE_PATH: &str = "/teamsUser/:exchangeAccessToken";
pub const ENTRA_TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.eyJvaWQiOiJ4In0.user-entra-token-sig";
pub const APP_ID: &str = "11111111-1111-1111-1111-111111111111";
pub const USER_ID: &str = "22222222-2222-2222-2222-222222222222";
pub const ACS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.acs-user-token.sig";

/// The reference's test key: the bytes 0x00..0x1f.
pub fn key_bytes() -> Vec<u8> {
    (0u8..32).collect()
}

pub fn access_key() -> Credential {
    Credential::AccessKey(AccessKey::from_bytes(key_bytes()))
}

pub fn request() -> ExchangeRequest<'static> {
    ExchangeRequest { token: ENTRA_TOKEN, app_id: APP_ID, user_id: USER_ID }
}

/// Small budgets so failures are quick, but generous enough for a busy 2-core machine; the breaker
/// is out of the way unless a test configures it.
pub fn config() -> AcsClientConfig {
    AcsClientConfig {
        connect_timeout: Duration::from_secs(1),
        attempt_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        breaker: BreakerConfig { failure_threshold: 1000, ..BreakerConfig::default() },
        ..AcsClientConfig::default()
    }
}

pub fn client(config: AcsClientConfig) -> AcsClient {
    AcsClient::new(config).unwrap()
}

pub async fn exchange(
    client: &AcsClient,
    server: &MockServer,
    credential: &Credential,
) -> Result<AcsToken, AcsError> {
    exchange_at(client, &server.uri(), credential).await
}

pub async fn exchange_at(
    client: &AcsClient,
    endpoint: &str,
    credential: &Credential,
) -> Result<AcsToken, AcsError> {
    let target = AcsTarget { tenant: TENANT, endpoint, credential };
    client.exchange_teams_token(&target, &request()).await
}

pub fn token_answer(expires_on: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"token": ACS_TOKEN, "expiresOn": expires_on}))
        .insert_header("MS-CV", "ZmFrZS1tcy1jdg.0")
}

pub fn acs_error(status: u16, code: &str, message: &str, target: Option<&str>) -> ResponseTemplate {
    let mut error = json!({"code": code, "message": message});
    if let Some(target) = target {
        error["target"] = json!(target);
    }
    ResponseTemplate::new(status).set_body_json(json!({ "error": error }))
}

/// Answers the exchange with `template`, at most `times` times when given (later mocks take over).
/// ACS's answer for a user without a Teams licence, as Microsoft Learn documents it.
pub fn unlicensed_user() -> ResponseTemplate {
    acs_error(403, "UserLicenseNotPresentForbidden", "User Login. Teams is disabled in user licenses", None)
}

pub async fn answer_exchange(server: &MockServer, template: ResponseTemplate, times: Option<u64>) {
    let mock = Mock::given(method("POST")).and(path(EXCHANGE_PATH)).respond_with(template);
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

pub async fn exchange_calls(server: &MockServer) -> Vec<Request> {
    let all = server.received_requests().await.unwrap();
    all.into_iter().filter(|r| r.url.path() == EXCHANGE_PATH).collect()
}

pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|value| value.to_str().unwrap())
}

/// Recomputes the HMAC signature from the request exactly as received, as ACS (and the devstack
/// emulator) do: method, raw path and query, the `Host` header, `x-ms-date` and the body.
/// Written from the reference, independently of the crate's signer.
pub fn assert_signed_with(request: &Request, key: &[u8]) {
    let date = header(request, "x-ms-date").unwrap();
    let host = header(request, "host").unwrap();
    let hash = STANDARD.encode(Sha256::digest(&request.body));
    assert_eq!(header(request, "x-ms-content-sha256"), Some(hash.as_str()));
    let path_and_query = match request.url.query() {
        Some(query) => format!("{}?{query}", request.url.path()),
        None => request.url.path().to_owned(),
    };
    let message = format!("{}\n{path_and_query}\n{date};{host};{hash}", request.method.as_str());
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(
        header(request, "authorization"),
        Some(
            format!("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}")
                .as_str()
        )
    );
}

/// The date the request was signed with.
pub fn signed_at(request: &Request) -> SystemTime {
    httpdate::parse_http_date(header(request, "x-ms-date").unwrap()).unwrap()
}

/// Records every upstream attempt the client reports, as the gateway's metrics would.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<(UpstreamKind, u32, String)>>>);

impl Recorder {
    pub fn install(&self, mut config: AcsClientConfig) -> AcsClientConfig {
        let calls = Arc::clone(&self.0);
        config.observer = Some(Arc::new(move |call: &UpstreamCall<'_>| {
            assert_eq!(call.tenant, TENANT);
            calls.lock().unwrap().push((call.kind, call.attempt, call.status_label()));
        }));
        config
    }

    /// `(kind, attempt, status label)` per attempt, in order.
    pub fn calls(&self) -> Vec<(UpstreamKind, u32, String)> {
        self.0.lock().unwrap().clone()
    }
}
