//! A wiremock Entra: metadata and key sets for one tenant, `organizations` and `common`, and token minting.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entra::{
    ACS_AUDIENCES, AppExpectation, Authority, Expectations, Rejection, TEAMS_SCOPES, ValidatedToken,
    Validator, ValidatorConfig,
};
use rsa::{RsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path},
};

pub const TENANT: Uuid = uuid::uuid!("72f988bf-86f1-41af-91ab-2d7cd011db47");
pub const OTHER_TENANT: Uuid = uuid::uuid!("aaaaaaaa-0000-0000-0000-000000000002");
pub const USER: Uuid = uuid::uuid!("d3e0d3e0-0000-4000-8000-00000000ace1");
pub const APP: Uuid = uuid::uuid!("11111111-2222-3333-4444-555555555555");

#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    private: RsaPrivateKey,
    n: String,
    e: String,
}

impl TestKey {
    pub fn generate(kid: &str, bits: usize) -> Self {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
        Self {
            kid: kid.to_owned(),
            n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
            private,
        }
    }

    /// The same key material under another kid.
    pub fn with_kid(&self, kid: &str) -> Self {
        Self { kid: kid.to_owned(), ..self.clone() }
    }

    pub fn jwk(&self, issuer: Option<&str>) -> Value {
        let mut jwk =
            json!({"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "n": self.n, "e": self.e});
        if let Some(issuer) = issuer {
            jwk["issuer"] = json!(issuer);
        }
        jwk
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"typ": "JWT", "alg": "RS256", "kid": self.kid}), claims)
    }

    /// RS256 over any header (any key size: ring would refuse to sign with a short key).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        use rsa::signature::{SignatureEncoding, Signer};
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.private.clone());
        let signature = signer.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The public modulus, e.g. to abuse as an HMAC secret.
    pub fn public_der(&self) -> Vec<u8> {
        use rsa::pkcs1::EncodeRsaPublicKey;
        self.private.to_public_key().to_pkcs1_der().unwrap().into_vec()
    }
}

pub const ALLOWED_APPS: &[Uuid] = &[APP];

/// What the ACS exchange expects: the ACS audiences and scopes, bound to `USER` and `APP`.
pub fn acs(authority: Authority<'_>) -> Expectations<'_> {
    Expectations {
        authority,
        audiences: ACS_AUDIENCES,
        required_scopes: TEAMS_SCOPES,
        user: Some(USER),
        app: Some(AppExpectation { claimed: Some(APP), allowed: ALLOWED_APPS }),
    }
}

/// The token of `TENANT` checked for the ACS exchange.
pub async fn check(validator: &Validator, token: &str) -> Result<ValidatedToken, Rejection> {
    validator.validate(token, &acs(Authority::Tenant(TENANT))).await
}

/// `claims` with `changes` applied; a null change removes the claim.
pub fn with(mut claims: Value, changes: &Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of a good v1 token for ACS from `TENANT`.
pub fn v1_claims(tid: Uuid) -> Value {
    json!({
        "aud": "https://auth.msft.communication.azure.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now() - 300, "nbf": now() - 300, "exp": now() + 3600,
        "ver": "1.0", "tid": tid.to_string(), "oid": USER.to_string(), "appid": APP.to_string(),
        "appidacr": "0", "scp": "Teams.ManageCalls Teams.ManageChats", "idtyp": "user",
        "uti": "AbCdEf123", "sub": "pairwise-subject"
    })
}

pub fn v2_claims(tid: Uuid) -> Value {
    let mut claims = v1_claims(tid);
    let map = claims.as_object_mut().unwrap();
    map.remove("appid");
    map.remove("appidacr");
    map.insert("azp".into(), json!(APP.to_string()));
    map.insert("ver".into(), json!("2.0"));
    map.insert("iss".into(), json!(format!("https://login.microsoftonline.com/{tid}/v2.0")));
    claims
}

/// A metadata document, or 503 while its outage switch is on. (A switch, not a higher-priority
/// scoped mock: wiremock 0.6 reorders its mocks by priority when serving, after which dropping such
/// a guard unmounts another mock than its own.)
struct MetadataDocument {
    document: Value,
    down: Arc<AtomicBool>,
}

impl Respond for MetadataDocument {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.down.load(Ordering::SeqCst) {
            ResponseTemplate::new(503)
        } else {
            ResponseTemplate::new(200).set_body_json(&self.document)
        }
    }
}

/// A metadata outage: every document answers 503 until this is dropped.
pub struct Outage(Arc<AtomicBool>);

impl Drop for Outage {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub struct Idp {
    pub server: MockServer,
    /// The key-set mocks in force; dropping a guard unmounts its mock.
    key_mocks: tokio::sync::Mutex<Vec<wiremock::MockGuard>>,
    metadata_down: Arc<AtomicBool>,
}

impl Idp {
    /// Metadata for `TENANT`, `organizations` and `common` (v1 and v2), and key sets serving `keys`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let server = MockServer::start().await;
        let base = server.uri();
        let metadata_down = Arc::new(AtomicBool::new(false));
        let document = |document: Value| MetadataDocument { document, down: metadata_down.clone() };
        for segment in [TENANT.to_string(), "organizations".to_owned(), "common".to_owned()] {
            let tid = if segment == "organizations" || segment == "common" {
                "{tenantid}".to_owned()
            } else {
                segment.clone()
            };
            Mock::given(method("GET"))
                .and(path(format!("/{segment}/.well-known/openid-configuration")))
                .respond_with(document(json!({
                    "issuer": format!("https://sts.windows.net/{tid}/"),
                    "jwks_uri": format!("{base}/{segment}/discovery/keys"),
                })))
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("/{segment}/v2.0/.well-known/openid-configuration")))
                .respond_with(document(json!({
                    "issuer": format!("https://login.microsoftonline.com/{tid}/v2.0"),
                    "jwks_uri": format!("{base}/{segment}/discovery/v2.0/keys"),
                })))
                .mount(&server)
                .await;
        }
        let idp = Self { server, key_mocks: tokio::sync::Mutex::new(Vec::new()), metadata_down };
        idp.publish(keys, None).await;
        idp
    }

    /// Replaces every key set with `keys` (v2 keys carry `v2_issuer` when given, else the template).
    pub async fn publish(&self, keys: &[&TestKey], v2_issuer: Option<&str>) {
        let mut mocks = self.key_mocks.lock().await;
        mocks.clear();
        let v1: Vec<Value> = keys.iter().map(|k| k.jwk(None)).collect();
        let issuer = v2_issuer.unwrap_or("https://login.microsoftonline.com/{tenantid}/v2.0");
        let v2: Vec<Value> = keys.iter().map(|k| k.jwk(Some(issuer))).collect();
        for segment in [TENANT.to_string(), "organizations".to_owned(), "common".to_owned()] {
            let v1_keys = Mock::given(method("GET"))
                .and(path(format!("/{segment}/discovery/keys")))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": v1})));
            mocks.push(v1_keys.mount_as_scoped(&self.server).await);
            let v2_keys = Mock::given(method("GET"))
                .and(path(format!("/{segment}/discovery/v2.0/keys")))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": v2})));
            mocks.push(v2_keys.mount_as_scoped(&self.server).await);
        }
    }

    /// Key sets answer 500 from now on.
    pub async fn break_keys(&self) {
        let mut mocks = self.key_mocks.lock().await;
        mocks.clear();
        let broken = Mock::given(method("GET"))
            .and(wiremock::matchers::path_regex("/discovery/"))
            .respond_with(ResponseTemplate::new(500));
        mocks.push(broken.mount_as_scoped(&self.server).await);
    }

    /// Every metadata document answers 503 until the guard is dropped.
    pub fn break_metadata(&self) -> Outage {
        self.metadata_down.store(true, Ordering::SeqCst);
        Outage(self.metadata_down.clone())
    }

    pub async fn requests_to(&self, fragment: &str) -> usize {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| r.url.path().contains(fragment)).count()
    }

    /// The validator's defaults, with insecure http allowed: this Entra is plain http.
    pub fn config(&self) -> ValidatorConfig {
        ValidatorConfig { allow_insecure_http: true, ..ValidatorConfig::new(self.url()) }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&self.server.uri()).unwrap()
    }

    pub fn validator(&self) -> Validator {
        Validator::new(self.config()).unwrap()
    }
}
