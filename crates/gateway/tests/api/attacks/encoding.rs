//! Attacks on the token's lifetime, size and encoding.

use reqwest::StatusCode;
use serde_json::json;

use super::{INVALID, forge, minted, now, payload_of, refused, setup, with_claims, with_header};

#[tokio::test]
async fn expired_tokens_and_tokens_not_yet_valid_are_refused() {
    let (app, up, slug) = setup().await;
    let expired = minted(&up, |r| r.lifetime_seconds = Some(-300));
    refused(&app, &up, &slug, &expired, INVALID, "invalid_token", "token expired").await;
    let early = with_claims(&up, json!({"nbf": now() + 600}));
    refused(&app, &up, &slug, &early, INVALID, "invalid_token", "token not yet valid").await;
    let no_exp = with_claims(&up, json!({"exp": null}));
    refused(&app, &up, &slug, &no_exp, INVALID, "invalid_token", "token lacks claim exp").await;
    let no_nbf = with_claims(&up, json!({"nbf": null}));
    refused(&app, &up, &slug, &no_nbf, INVALID, "invalid_token", "token lacks claim nbf").await;
}

#[tokio::test]
async fn clock_skew_up_to_sixty_seconds_is_tolerated_and_no_more() {
    let (app, up, slug) = setup().await;
    let late = with_claims(&up, json!({"exp": now() - 90}));
    refused(&app, &up, &slug, &late, INVALID, "invalid_token", "token expired").await;
    let early = with_claims(&up, json!({"nbf": now() + 30}));
    assert_eq!(app.exchange(&slug, &early, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_living_longer_than_28_hours_are_refused() {
    let (app, up, slug) = setup().await;
    let token = with_claims(&up, json!({"nbf": now() - 60, "exp": now() + 29 * 3600}));
    refused(&app, &up, &slug, &token, INVALID, "invalid_token", "token lifetime too long").await;
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_decoding() {
    let (app, up, slug) = setup().await;
    let token = with_claims(&up, json!({"padding": "x".repeat(20 * 1024)}));
    refused(&app, &up, &slug, &token, INVALID, "invalid_token", "token is malformed: too large").await;
}

#[tokio::test]
async fn duplicate_claim_names_are_refused() {
    let (app, up, slug) = setup().await;
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": up.issuer.issuer().published_kids()[0]});
    let payload = payload_of(&up.a1());
    // The same name twice, and the same name in another case (a parser differential with ACS).
    for name in ["oid", "OID"] {
        let claims = format!(
            "{},\"{name}\":\"99999999-0000-4000-8000-000000000001\"}}",
            payload.trim_end_matches('}')
        );
        let token = forge(&header, &claims, &[1; 256]);
        refused(
            &app,
            &up,
            &slug,
            &token,
            INVALID,
            "invalid_token",
            "token is malformed: a claim appears twice",
        )
        .await;
    }
}

#[tokio::test]
async fn non_canonical_encodings_are_refused() {
    let (app, up, slug) = setup().await;
    let good = up.a1();
    let (header, rest) = good.split_once('.').unwrap();
    let padded = format!("{header}==.{rest}");
    refused(
        &app,
        &up,
        &slug,
        &padded,
        INVALID,
        "invalid_token",
        "token is malformed: not canonical base64url",
    )
    .await;
    let standard_alphabet = good.replace('-', "+").replace('_', "/");
    if standard_alphabet != good {
        refused(
            &app,
            &up,
            &slug,
            &standard_alphabet,
            INVALID,
            "invalid_token",
            "token is malformed: not canonical base64url",
        )
        .await;
    }
    let four = format!("{good}.extra");
    refused(&app, &up, &slug, &four, INVALID, "invalid_token", "token is malformed: not three segments")
        .await;
}

#[tokio::test]
async fn nested_encrypted_and_critical_tokens_are_refused() {
    let (app, up, slug) = setup().await;
    refused(
        &app,
        &up,
        &slug,
        "a.b.c.d.e",
        INVALID,
        "invalid_token",
        "token is malformed: encrypted tokens (JWE) are not accepted",
    )
    .await;
    let nested = with_header(&up, json!({"cty": "JWT"}));
    refused(
        &app,
        &up,
        &slug,
        &nested,
        INVALID,
        "invalid_token",
        "token header not accepted: nested or compressed tokens are not accepted",
    )
    .await;
    let critical = with_header(&up, json!({"crit": ["exp"]}));
    refused(
        &app,
        &up,
        &slug,
        &critical,
        INVALID,
        "invalid_token",
        "token header not accepted: critical extensions are not accepted",
    )
    .await;
    let typed = with_header(&up, json!({"typ": "at+jwt+evil"}));
    refused(&app, &up, &slug, &typed, INVALID, "invalid_token", "token header not accepted: typ must be JWT")
        .await;
}
