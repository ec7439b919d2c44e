//! Shared fixtures: the user A1 proved, RSA and HMAC token signing, a wiremock key-set server, a fake
//! Entra verifier that records its calls, and authorizers built around them.
#![allow(dead_code, reason = "each test binary uses a different part of the fixtures")]

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use authz::{
    Authorizer, AuthorizerConfig, EntraTokenVerifier, JwtKey, Policy, Refusal, Subject, VerifiedEntraToken,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rsa::{RsaPrivateKey, traits::PublicKeyParts};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::{
    Mock, MockGuard, MockServer, ResponseTemplate,
    matchers::{method, path},
};

pub const TENANT: &str = "fabrikam";
pub const TID: Uuid = uuid::uuid!("72f988bf-86f1-41af-91ab-2d7cd011db47");
pub const OTHER_TID: Uuid = uuid::uuid!("aaaaaaaa-0000-0000-0000-000000000002");
pub const USER: Uuid = uuid::uuid!("d3e0d3e0-0000-4000-8000-00000000ace1");
pub const OTHER_USER: Uuid = uuid::uuid!("d3e0d3e0-0000-4000-8000-0000000000b2");
pub const APP: Uuid = uuid::uuid!("11111111-2222-3333-4444-555555555555");
pub const ISSUER: &str = "https://auth.contoso.example";
pub const AUDIENCE: &str = "api://contoso";
pub const KEYS_PATH: &str = "/.well-known/jwks.json";
pub const HS256_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-contoso";

pub fn subject() -> Subject {
    Subject { tenant: TENANT.to_owned(), tid: TID, oid: USER, app_id: APP }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of a good vendor token for `USER`.
pub fn claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now() - 10, "nbf": now() - 10, "exp": now() + 600,
           "oid": USER.to_string(), "sub": "vendor-subject"})
}

/// `claims()` with members replaced, or removed where the change is `null`.
pub fn with(changes: &Value) -> Value {
    let mut claims = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    private: RsaPrivateKey,
}

impl TestKey {
    pub fn generate(kid: &str, bits: usize) -> Self {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), bits).unwrap();
        Self { kid: kid.to_owned(), private }
    }

    pub fn with_kid(&self, kid: &str) -> Self {
        Self { kid: kid.to_owned(), ..self.clone() }
    }

    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
               "n": URL_SAFE_NO_PAD.encode(self.private.n().to_bytes_be()),
               "e": URL_SAFE_NO_PAD.encode(self.private.e().to_bytes_be())})
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"typ": "JWT", "alg": "RS256", "kid": self.kid}), claims)
    }

    /// RS256 over any header (any key size: ring would refuse to sign with a short key).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// RS256 over header and payload JSON exactly as written (e.g. with duplicate members).
    pub fn sign_raw(&self, header: &str, payload: &str) -> String {
        use rsa::signature::{SignatureEncoding, Signer};
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.private.clone());
        let signature = signer.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The public key as PKCS#1 DER, to abuse as an HMAC secret.
    pub fn public_der(&self) -> Vec<u8> {
        use rsa::pkcs1::EncodeRsaPublicKey;
        self.private.to_public_key().to_pkcs1_der().unwrap().into_vec()
    }
}

/// HS256 over any header with `secret`.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64_json(header), b64_json(claims));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// A vendor's key-set endpoint.
pub struct KeyServer {
    pub server: MockServer,
    mock: tokio::sync::Mutex<Option<MockGuard>>,
}

impl KeyServer {
    pub async fn start(keys: &[&TestKey]) -> Self {
        let this = Self { server: MockServer::start().await, mock: tokio::sync::Mutex::new(None) };
        this.publish(keys).await;
        this
    }

    /// Serves exactly `keys` from now on.
    pub async fn publish(&self, keys: &[&TestKey]) {
        let jwks = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
        self.serve(ResponseTemplate::new(200).set_body_json(jwks)).await;
    }

    /// Answers 500 from now on.
    pub async fn break_keys(&self) {
        self.serve(ResponseTemplate::new(500)).await;
    }

    async fn serve(&self, response: ResponseTemplate) {
        let mut mock = self.mock.lock().await;
        *mock = None;
        let keys = Mock::given(method("GET")).and(path(KEYS_PATH)).respond_with(response);
        *mock = Some(keys.mount_as_scoped(&self.server).await);
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("{}{KEYS_PATH}", self.server.uri())).unwrap()
    }

    pub async fn fetches(&self) -> usize {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| r.url.path() == KEYS_PATH).count()
    }

    pub fn policy(&self) -> Policy {
        jwt_policy(JwtKey::JwksUri(self.url()))
    }
}

pub fn jwt_policy(key: JwtKey) -> Policy {
    Policy::Jwt {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        key,
        user_claim: String::new(),
        required_claims: BTreeMap::new(),
    }
}

pub fn hs256_policy() -> Policy {
    jwt_policy(JwtKey::Hs256(HS256_SECRET.to_vec().into()))
}

pub fn webhook_policy(server: &MockServer, secret: &[u8], cache_for: Duration) -> Policy {
    Policy::Webhook {
        url: url::Url::parse(&format!("{}/authorize", server.uri())).unwrap(),
        secret: secret.to_vec().into(),
        timeout: Duration::from_secs(5),
        cache_for,
    }
}

/// A webhook answering `response` to every POST on `/authorize`, `calls` times over the test.
pub async fn webhook(response: ResponseTemplate, calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/authorize"))
        .respond_with(response)
        .expect(calls)
        .mount(&server)
        .await;
    server
}

pub fn allow(allow: bool) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"allow": allow}))
}

/// A stand-in for the gateway's Entra validator: answers as told and records every call.
pub struct FakeEntra {
    pub answer: Mutex<Result<VerifiedEntraToken, Refusal>>,
    pub calls: Mutex<Vec<VerifierCall>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierCall {
    pub token: String,
    pub tid: Uuid,
    pub audience: String,
    pub required_scopes: Vec<String>,
}

impl FakeEntra {
    pub fn answering(answer: Result<VerifiedEntraToken, Refusal>) -> Arc<Self> {
        Arc::new(Self { answer: Mutex::new(answer), calls: Mutex::new(Vec::new()) })
    }

    pub fn calls(&self) -> Vec<VerifierCall> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl EntraTokenVerifier for FakeEntra {
    async fn verify(
        &self,
        token: &str,
        tid: Uuid,
        audience: &str,
        required_scopes: &[String],
    ) -> Result<VerifiedEntraToken, Refusal> {
        let call = VerifierCall {
            token: token.to_owned(),
            tid,
            audience: audience.to_owned(),
            required_scopes: required_scopes.to_vec(),
        };
        self.calls.lock().unwrap().push(call);
        self.answer.lock().unwrap().clone()
    }
}

pub fn authorizer_with(config: AuthorizerConfig, entra: Arc<FakeEntra>) -> Authorizer {
    Authorizer::new(config, entra).unwrap()
}

/// An authorizer whose Entra verifier refuses everything (for tests of other policies).
pub fn authorizer(config: AuthorizerConfig) -> Authorizer {
    let refuse = Refusal::Invalid { reason: "unused", detail: "not under test".into() };
    authorizer_with(config, FakeEntra::answering(Err(refuse)))
}
