//! Attacks on the signature and the keys that verify it.

use crate::helpers::ENTRA_TENANT;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use devstack::issuer::Signing;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{INVALID, forge, minted, payload_of, refused, setup, with_header};

#[tokio::test]
async fn alg_none_tokens_are_refused() {
    let (app, up, slug) = setup().await;
    let token = minted(&up, |r| r.signing = Signing::Unsigned);
    refused(&app, &up, &slug, &token, INVALID, "invalid_token", "signing algorithm not accepted").await;
}

#[tokio::test]
async fn tokens_with_a_stripped_signature_are_refused() {
    let (app, up, slug) = setup().await;
    let good = up.a1();
    let stripped = format!("{}.", good.rsplit_once('.').unwrap().0);
    refused(&app, &up, &slug, &stripped, INVALID, "invalid_token", "token signature is invalid").await;
}

#[tokio::test]
async fn hs256_tokens_keyed_with_the_published_rsa_key_are_refused() {
    let (app, up, slug) = setup().await;
    let jwks: Value = crate::helpers::http_client()
        .get(format!("{}/{ENTRA_TENANT}/discovery/keys", up.issuer.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    let modulus = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let claims: Value = serde_json::from_str(&payload_of(&up.a1())).unwrap();
    for secret in [modulus, jwk.to_string().into_bytes()] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = jwk["kid"].as_str().map(str::to_owned);
        let token =
            jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(&secret)).unwrap();
        refused(&app, &up, &slug, &token, INVALID, "invalid_token", "signing algorithm not accepted").await;
    }
}

#[tokio::test]
async fn kid_injection_attempts_are_refused_without_any_lookup() {
    let (app, up, slug) = setup().await;
    let fetches = up.issuer.key_set_fetches();
    for kid in [
        "../../../../etc/passwd",
        "x' OR '1'='1",
        "https://evil.example/key",
        "kid with spaces",
        &"k".repeat(200),
    ] {
        let token = with_header(&up, json!({"kid": kid}));
        refused(
            &app,
            &up,
            &slug,
            &token,
            INVALID,
            "invalid_token",
            "token header not accepted: kid is not an opaque key id",
        )
        .await;
    }
    assert_eq!(up.issuer.key_set_fetches(), fetches);
}

#[tokio::test]
async fn key_material_and_key_urls_in_the_header_are_refused_and_never_fetched() {
    let (app, up, slug) = setup().await;
    let evil = wiremock::MockServer::start().await;
    let url = format!("{}/keys", evil.uri());
    for header in [
        json!({"jku": url}),
        json!({"x5u": url}),
        json!({"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
        json!({"x5c": ["MIIBIjAN"]}),
    ] {
        let token = with_header(&up, header);
        refused(
            &app,
            &up,
            &slug,
            &token,
            INVALID,
            "invalid_token",
            "token header not accepted: key material in the header is not accepted",
        )
        .await;
    }
    assert!(evil.received_requests().await.unwrap().is_empty(), "no URL from a token is ever fetched");
}

#[tokio::test]
async fn an_unknown_kid_flood_causes_at_most_one_fetch_per_key_set_within_the_cooldown() {
    let (app, up, slug) = setup().await;
    let fetches_before_flood = {
        // Prime the key cache with one good exchange, then forget its ACS call.
        assert_eq!(app.exchange(&slug, &up.a1(), None).await.status(), StatusCode::OK);
        up.acs.reset_stats();
        up.issuer.key_set_fetches()
    };
    let tokens: Vec<String> =
        (0..100).map(|n| with_header(&up, json!({"kid": format!("flood{n}")}))).collect();
    let responses = futures_util::future::join_all(tokens.iter().map(|t| app.exchange(&slug, t, None))).await;
    assert!(responses.iter().all(|r| r.status() == INVALID));
    // At most one fetch per key-set URL per cool-down: the shared set was just fetched; the tenant's
    // own set (which may hold keys the shared one lacks) is looked at once, for the first flood kid.
    assert_eq!(up.issuer.key_set_fetches(), fetches_before_flood + 1);
    assert_eq!(up.acs_exchanges(), 0);
}

#[tokio::test]
async fn psychic_ecdsa_signatures_are_refused() {
    let (app, up, slug) = setup().await;
    let header = json!({"typ": "JWT", "alg": "ES256", "kid": up.issuer.issuer().published_kids()[0]});
    let token = forge(&header, &payload_of(&up.a1()), &[0u8; 64]);
    refused(&app, &up, &slug, &token, INVALID, "invalid_token", "signing algorithm not accepted").await;
}

#[tokio::test]
async fn a_token_signed_by_a_key_the_authority_never_published_is_refused() {
    let (app, up, slug) = setup().await;
    let token = minted(&up, |r| r.signing = Signing::UnknownKey);
    refused(&app, &up, &slug, &token, INVALID, "invalid_token", "token signature is invalid").await;
}
