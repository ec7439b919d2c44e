//! The Entra validator on arbitrary tokens, offline: its metadata and key set come from a tiny HTTP
//! server on 127.0.0.1 inside this process, publishing one fixed RSA key (`entra_validate.key.der`,
//! a throwaway PKCS#1 key made for this target alone: generating one at start-up took seconds).
//!
//! The first byte chooses what the rest is and what the token must be for:
//! - bit 0 clear: the rest is the token, as it arrives (format, header and claims are checked before
//!   the signature; the fuzzer cannot forge one, so it never gets further);
//! - bit 0 set: the rest is the payload (bit 5 clear) or `header 0xff payload` (bit 5 set), signed
//!   here with the published key, so every check after the signature is reached too. In the payload
//!   `$NBF` and `$EXP` become five minutes ago and in an hour, so seeds stay in their lifetime;
//! - bits 1 to 4: the authority (one tenant or an allow-list), the expected user, the expected app and
//!   whether the caller names it.
//!
//! Invariants: no panic; a token is accepted only with a genuine signature by the published key and
//! only when it meets every expectation; asking twice (the second answer comes from the cache of
//! verified tokens) gives the same answer.

#![no_main]

use std::{
    io::{Read, Write},
    net::TcpListener,
    sync::OnceLock,
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entra::{
    ACS_AUDIENCES, AppExpectation, Authority, CONSUMER_TENANT, Expectations, Rejection, TEAMS_SCOPES,
    ValidatedToken, Validator, ValidatorConfig,
};
use libfuzzer_sys::fuzz_target;
use ring::{
    rand::SystemRandom,
    rsa::PublicKeyComponents,
    signature::{RSA_PKCS1_SHA256, RsaKeyPair},
};
use uuid::{Uuid, uuid};

const TENANT: Uuid = uuid!("72f988bf-86f1-41af-91ab-2d7cd011db47");
const OTHER_TENANT: Uuid = uuid!("aaaaaaaa-0000-0000-0000-000000000002");
const ORGANIZATIONS: &[Uuid] = &[TENANT, OTHER_TENANT];
const USER: Uuid = uuid!("d3e0d3e0-0000-4000-8000-00000000ace1");
const APP: Uuid = uuid!("11111111-2222-3333-4444-555555555555");
const ALLOWED_APPS: &[Uuid] = &[APP];
const KID: &str = "fuzz-key";
const HEADER: &str = r#"{"typ":"JWT","alg":"RS256","kid":"fuzz-key"}"#;

struct World {
    runtime: tokio::runtime::Runtime,
    validator: Validator,
    key: RsaKeyPair,
}

impl World {
    /// RS256 (PKCS#1 v1.5, deterministic) over `input`, base64url.
    fn sign(&self, input: &str) -> String {
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature)
            .expect("RS256 signs anything");
        URL_SAFE_NO_PAD.encode(signature)
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key = RsaKeyPair::from_der(include_bytes!("entra_validate.key.der")).expect("the RSA key");
        let host = serve_idp(&PublicKeyComponents::<Vec<u8>>::from(key.public()));
        let mut config = ValidatorConfig::new(url::Url::parse(&host).expect("the IdP's URL"));
        config.allow_insecure_http = true;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let validator = {
            let _inside = runtime.enter();
            Validator::new(config).expect("a validator")
        };
        World { runtime, validator, key }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let world = world();
    let token = if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else { return };
        token.to_owned()
    } else {
        let (header, payload) = match rest.iter().position(|b| *b == 0xff) {
            Some(at) if mode & 0x20 != 0 => (&rest[..at], &rest[at + 1..]),
            _ => (HEADER.as_bytes(), rest),
        };
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(lifetime(payload)));
        let signature = world.sign(&input);
        format!("{input}.{signature}")
    };
    let expect = Expectations {
        authority: if mode & 2 == 0 {
            Authority::Tenant(TENANT)
        } else {
            Authority::Organizations(ORGANIZATIONS)
        },
        audiences: ACS_AUDIENCES,
        required_scopes: TEAMS_SCOPES,
        user: (mode & 4 != 0).then_some(USER),
        app: (mode & 8 != 0)
            .then(|| AppExpectation { claimed: (mode & 0x10 != 0).then_some(APP), allowed: ALLOWED_APPS }),
    };
    let first = world.runtime.block_on(world.validator.validate(&token, &expect));
    let second = world.runtime.block_on(world.validator.validate(&token, &expect));
    if first != second {
        assert!(
            [&first, &second].iter().any(|r| matches!(
                r,
                Err(Rejection::Expired | Rejection::NotYetValid | Rejection::KeysUnavailable)
            )),
            "asked twice, answered {first:?} then {second:?}"
        );
    }
    // A rejection cannot echo the token: its details are `&'static str` by type.
    if let Ok(validated) = first {
        accepted(world, &token, &expect, &validated);
    }
});

/// What holds of every accepted token.
fn accepted(world: &World, token: &str, expect: &Expectations<'_>, validated: &ValidatedToken) {
    let (signing_input, signature) = token.rsplit_once('.').expect("an accepted token has three segments");
    assert_eq!(world.sign(signing_input), signature, "accepted without a genuine signature");
    assert_eq!(validated.kid, KID);
    assert_ne!(validated.tid, CONSUMER_TENANT);
    match expect.authority {
        Authority::Tenant(tid) => assert_eq!(validated.tid, tid),
        Authority::Organizations(allowed) => assert!(allowed.contains(&validated.tid)),
    }
    if let Some(user) = expect.user {
        assert_eq!(validated.oid, user);
    }
    if let Some(app) = expect.app {
        let app_id = validated.app_id.expect("an expected app is named by the token");
        assert!(app.allowed.contains(&app_id));
        assert!(app.claimed.is_none_or(|claimed| claimed == app_id));
    }
    let now = chrono::Utc::now().timestamp();
    assert!(validated.expires_at >= now - 61, "accepted {}s after expiry", now - validated.expires_at);
}

/// `$NBF` and `$EXP` in `payload` become five minutes ago and in an hour.
fn lifetime(payload: &[u8]) -> Vec<u8> {
    let Ok(text) = std::str::from_utf8(payload) else { return payload.to_vec() };
    let now = chrono::Utc::now().timestamp();
    text.replace("$NBF", &(now - 300).to_string()).replace("$EXP", &(now + 3600).to_string()).into_bytes()
}

/// An Entra on 127.0.0.1: metadata (v1 and v2) for `TENANT` and `organizations`, and one key set
/// with `key` under `KID`. Answers each request on its own connection, then closes it.
fn serve_idp(key: &PublicKeyComponents<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "kid": KID,
        "n": URL_SAFE_NO_PAD.encode(&key.n),
        "e": URL_SAFE_NO_PAD.encode(&key.e),
    }]})
    .to_string();
    let keys_url = format!("{base}/keys");
    let metadata = move |path: &str| -> Option<String> {
        let authority = path.strip_suffix("/.well-known/openid-configuration")?;
        let (segment, v2) = match authority.strip_suffix("/v2.0") {
            Some(segment) => (segment, true),
            None => (authority, false),
        };
        let tid = match segment {
            "organizations" => "{tenantid}".to_owned(),
            tenant => tenant.parse::<Uuid>().ok()?.hyphenated().to_string(),
        };
        let issuer = if v2 {
            format!("https://login.microsoftonline.com/{tid}/v2.0")
        } else {
            format!("https://sts.windows.net/{tid}/")
        };
        Some(serde_json::json!({"issuer": issuer, "jwks_uri": &keys_url}).to_string())
    };
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request);
            let path = request.split(' ').nth(1).unwrap_or("");
            let body =
                if path == "/keys" { Some(jwks.clone()) } else { path.strip_prefix('/').and_then(&metadata) };
            let response = match body {
                Some(body) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    base
}
