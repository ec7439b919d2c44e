//! A stand-in for the dev Entra issuer: serves one RSA key at `/common/discovery/keys` and mints
//! RS256 tokens with it (or with an unpublished key, for forgeries). Independent of
//! `devstack::issuer`, so the emulator's tests do not depend on it.

use std::{
    net::TcpListener,
    time::{SystemTime, UNIX_EPOCH},
};

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::{RsaPrivateKey, pkcs1::EncodeRsaPrivateKey as _, traits::PublicKeyParts as _};
use serde_json::{Value, json};
use uuid::Uuid;

pub const A1_AUDIENCE: &str = "https://auth.msft.communication.azure.com";
pub const BEARER_AUDIENCE: &str = "https://communication.azure.com/";
const PUBLISHED_KID: &str = "stand-in-key-1";

/// One signing key and its public half as a JWK.
struct SigningKey {
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn generate(kid: &str) -> Self {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key generation");
        let der = private.to_pkcs1_der().expect("PKCS#1 encoding");
        let jwk = json!({
            "kty": "RSA", "use": "sig", "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        Self { encoding: EncodingKey::from_rsa_der(der.as_bytes()), jwk }
    }
}

/// Which key signs a minted token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The key published in the JWKS.
    Published,
    /// A key nobody published, claiming the published key's `kid`.
    Forger,
    /// The same unpublished key under a `kid` the JWKS does not list.
    UnknownKid,
}

pub struct StandInEntra {
    base_url: String,
    handle: ServerHandle,
    published: SigningKey,
    forger: SigningKey,
}

impl StandInEntra {
    pub async fn start() -> Self {
        let published = SigningKey::generate(PUBLISHED_KID);
        let forger = SigningKey::generate(PUBLISHED_KID);
        let jwks = json!({ "keys": [published.jwk] });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in issuer");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let server = HttpServer::new(move || {
            let jwks = jwks.clone();
            App::new().route(
                "/common/discovery/keys",
                web::get().to(move || {
                    let jwks = jwks.clone();
                    async move { HttpResponse::Ok().json(jwks) }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { base_url, handle, published, forger }
    }

    /// The base URL to give the emulator as `entra_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn mint(&self, claims: &Value, signer: Signer) -> String {
        let (key, kid) = match signer {
            Signer::Published => (&self.published, PUBLISHED_KID),
            Signer::Forger => (&self.forger, PUBLISHED_KID),
            Signer::UnknownKid => (&self.forger, "unpublished-key"),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("minting")
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

pub fn now() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit in i64")
}

/// A v1 delegated Entra token for ACS, as MSAL gets it for a Teams user, valid for an hour.
pub fn a1_claims(app_id: Uuid, oid: Uuid) -> Value {
    let tid = Uuid::new_v4();
    let now = now();
    json!({
        "aud": A1_AUDIENCE,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "ver": "1.0",
        "appid": app_id.to_string(),
        "oid": oid.to_string(),
        "tid": tid.to_string(),
        "scp": "Teams.ManageCalls Teams.ManageChats",
        "idtyp": "user",
        "uti": Uuid::new_v4().to_string(),
    })
}

/// An app-only token for the ACS resource, as a service principal gets it for the bearer option.
pub fn bearer_claims() -> Value {
    let tid = Uuid::new_v4();
    let now = now();
    json!({
        "aud": BEARER_AUDIENCE,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "ver": "1.0",
        "appid": Uuid::new_v4().to_string(),
        "oid": Uuid::new_v4().to_string(),
        "tid": tid.to_string(),
        "idtyp": "app",
        "roles": [],
    })
}
