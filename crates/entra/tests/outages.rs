//! The validator while its key source or metadata fails: "unavailable" (503), never "invalid" (401),
//! for as long as it cannot ask, and no HTTP attempt per request during the cool-down.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

#[allow(dead_code, reason = "each test binary uses part of the shared wiremock Entra")]
mod support;

use std::time::Duration;

use entra::{Rejection, Validator, ValidatorConfig};
use serde_json::json;
use support::{Idp, TENANT, TestKey, check, v1_claims, with};

/// The production cool-down between two fetches of one source.
const COOLDOWN: Duration = Duration::from_secs(300);

fn validator(config: ValidatorConfig) -> Validator {
    assert_eq!(config.refresh_cooldown, COOLDOWN, "tests run with the real cool-down");
    Validator::new(config).unwrap()
}

#[tokio::test]
async fn an_unknown_kid_while_cooling_down_after_a_failed_background_refresh_is_unavailable() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = validator(idp.config());
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    idp.break_keys().await;
    validator.refresh().await;
    assert_eq!(idp.requests_to("/discovery/keys").await, 2, "one good fetch, one failed refresh");

    let unknown = key.with_kid("rotated").sign(&v1_claims(TENANT));
    let error = check(&validator, &unknown).await.unwrap_err();
    assert_eq!(error, Rejection::KeysUnavailable, "the source failed when last asked: cannot tell");
    assert_eq!(error.code(), "upstream_unavailable");
    assert_eq!(idp.requests_to("/discovery/keys").await, 2, "the cool-down still holds");
    let known = key.sign(&with(v1_claims(TENANT), &json!({"uti": "still-good"})));
    check(&validator, &known).await.unwrap();
}

#[tokio::test]
async fn unknown_kids_stay_unavailable_for_the_whole_cooldown_after_a_failed_key_fetch() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    idp.break_keys().await;
    let validator = validator(idp.config());
    assert_eq!(
        check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap_err(),
        Rejection::KeysUnavailable
    );
    for kid in ["k1", "k2", "k3"] {
        let token = key.with_kid(kid).sign(&with(v1_claims(TENANT), &json!({"uti": kid})));
        assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::KeysUnavailable, "{kid}");
    }
    assert_eq!(idp.requests_to("/discovery/keys").await, 1, "one attempt per cool-down");
}

#[tokio::test]
async fn without_a_good_metadata_document_an_outage_costs_one_fetch_per_cooldown() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let _outage = idp.break_metadata().await;
    let validator = validator(idp.config());
    let tokens: Vec<String> =
        (0..20).map(|n| key.sign(&with(v1_claims(TENANT), &json!({"uti": format!("u{n}")})))).collect();
    let results = futures_util::future::join_all(tokens.iter().map(|t| check(&validator, t))).await;
    assert!(results.iter().all(|r| *r == Err(Rejection::KeysUnavailable)), "{results:?}");
    for token in &tokens {
        assert_eq!(check(&validator, token).await.unwrap_err(), Rejection::KeysUnavailable);
    }
    assert_eq!(idp.requests_to("/.well-known").await, 1, "no fetch per request");
    assert_eq!(idp.requests_to("/discovery/").await, 0);
}

#[tokio::test]
async fn a_stale_metadata_document_is_served_without_refetching_while_its_source_is_down() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let config = ValidatorConfig { metadata_refresh: Duration::from_millis(200), ..idp.config() };
    let validator = validator(config);
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    let outage = idp.break_metadata().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..10 {
        let token = key.sign(&with(v1_claims(TENANT), &json!({"uti": format!("u{n}")})));
        check(&validator, &token).await.unwrap();
    }
    assert_eq!(idp.requests_to("/.well-known").await, 2, "one good fetch, one failed, then none");

    // The background refresh ignores the cool-down and brings the document back.
    drop(outage);
    validator.refresh().await;
    assert_eq!(idp.requests_to("/.well-known").await, 3);
    check(&validator, &key.sign(&with(v1_claims(TENANT), &json!({"uti": "after"})))).await.unwrap();
}

#[tokio::test]
async fn a_plain_http_key_set_is_refused_unless_insecure_http_is_allowed() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let strict = validator(ValidatorConfig { allow_insecure_http: false, ..idp.config() });
    let token = key.sign(&v1_claims(TENANT));
    for _ in 0..3 {
        assert_eq!(check(&strict, &token).await.unwrap_err(), Rejection::KeysUnavailable);
    }
    assert_eq!(idp.requests_to("/discovery/").await, 0, "the http key set is never fetched");
    assert_eq!(idp.requests_to("/.well-known").await, 1, "a refused document cools down like a failure");

    // The devstack's dev issuer is plain http: allowed when configured so.
    check(&validator(idp.config()), &token).await.unwrap();
}

#[test]
fn insecure_http_is_allowed_by_default_only_for_a_plain_http_authority_host() {
    let production = ValidatorConfig::new(url::Url::parse("https://login.microsoftonline.com").unwrap());
    assert!(!production.allow_insecure_http);
    let dev = ValidatorConfig::new(url::Url::parse("http://127.0.0.1:8080").unwrap());
    assert!(dev.allow_insecure_http);
}
