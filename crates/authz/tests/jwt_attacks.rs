//! Tokens crafted to slip past a `jwt` policy with a key-set URL (entra-validation.md section 3).
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use authz::{AuthorizerConfig, AuthzError, Check};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;
use support::{KeyServer, TestKey, authorizer, claims, sign_hs256, subject};

async fn refusal(keys: &KeyServer, token: &str) -> AuthzError {
    let authz = authorizer(AuthorizerConfig::default());
    authz.check(&keys.policy(), Some(token), &subject()).await.unwrap_err()
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_fails_the_signature_check() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let token = key.sign(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = claims();
    forged["sub"] = json!("someone-else");
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    let error = refusal(&keys, &parts.join(".")).await;
    assert_eq!(error, AuthzError::Invalid(Check::Signature));
    assert_eq!(error.to_string(), "authorization token signature is invalid");
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_a_published_kid_fails_the_signature_check() {
    let published = TestKey::generate("k1", 2048);
    let impostor = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&published]).await;
    assert_eq!(refusal(&keys, &impostor.sign(&claims())).await, AuthzError::Invalid(Check::Signature));
}

#[tokio::test]
async fn alg_none_is_refused_with_or_without_a_signature() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "k1"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    for token in [format!("{header}.{payload}."), format!("{header}.{payload}.AAAA")] {
        assert_eq!(refusal(&keys, &token).await, AuthzError::Invalid(Check::Algorithm));
    }
    assert_eq!(keys.fetches().await, 0);
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_refused_as_the_wrong_algorithm() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let header = json!({"alg": "HS256", "kid": "k1"});
    let n = URL_SAFE_NO_PAD.decode(key.jwk()["n"].as_str().unwrap()).unwrap();
    for secret in [key.public_der(), n, key.jwk().to_string().into_bytes()] {
        let token = sign_hs256(&secret, &header, &claims());
        assert_eq!(refusal(&keys, &token).await, AuthzError::Invalid(Check::Algorithm));
    }
}

#[tokio::test]
async fn headers_carrying_keys_key_urls_or_critical_extensions_are_refused_before_any_fetch() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    for (name, value) in [
        ("jku", json!(format!("{}/evil-keys", keys.server.uri()))),
        ("x5u", json!("https://evil.example/cert.pem")),
        ("jwk", key.jwk()),
        ("x5c", json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])),
        ("crit", json!(["exp"])),
    ] {
        let mut header = json!({"alg": "RS256", "kid": "k1"});
        header[name] = value;
        let error = refusal(&keys, &key.sign_with_header(&header, &claims())).await;
        assert!(matches!(error, AuthzError::Invalid(Check::Header(_))), "{name}: {error:?}");
        assert!(error.to_string().starts_with("authorization token header not accepted"), "{name}");
    }
    assert_eq!(keys.fetches().await, 0);
}

#[tokio::test]
async fn a_key_shorter_than_2048_bits_is_refused_even_when_published() {
    let weak = TestKey::generate("weak", 1024);
    let keys = KeyServer::start(&[&weak]).await;
    let error = refusal(&keys, &weak.sign(&claims())).await;
    assert_eq!(error, AuthzError::Invalid(Check::Key("RSA key shorter than 2048 bits")));
    assert_eq!(error.code(), "invalid_authorization");
}

#[tokio::test]
async fn a_token_without_a_kid_or_with_an_odd_one_is_refused_under_a_key_set() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let no_kid = key.sign_with_header(&json!({"alg": "RS256"}), &claims());
    assert_eq!(refusal(&keys, &no_kid).await, AuthzError::Invalid(Check::Header("kid is missing")));
    let odd = key.sign_with_header(&json!({"alg": "RS256", "kid": "../../keys"}), &claims());
    assert!(matches!(refusal(&keys, &odd).await, AuthzError::Invalid(Check::Header(_))));
    assert_eq!(keys.fetches().await, 0);
}

#[tokio::test]
async fn encrypted_oversized_and_garbled_tokens_are_malformed() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    for token in
        ["a.b.c.d.e".to_owned(), "x".repeat(16 * 1024 + 1), "only.two".to_owned(), "%%%.%%%.%%%".to_owned()]
    {
        let error = refusal(&keys, &token).await;
        assert_eq!(error.reason(), "malformed", "{error:?}");
    }
}
