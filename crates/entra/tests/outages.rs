//! The validator while its key source or metadata fails: "unavailable" (503), never "invalid" (401),
//! for as long as it cannot ask, and no HTTP attempt per request during the cool-down.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

#[allow(dead_code, reason = "each test binary uses part of the shared wiremock Entra")]
mod support;

use std::time::Duration;

use entra::{Authority, Rejection, Validator, ValidatorConfig};
use jose::clock::Clock;
use serde_json::json;
use support::{Idp, TENANT, TestKey, check, v1_claims, with};

/// The production cool-down between two fetches of one source (and the longest metadata one).
const COOLDOWN: Duration = Duration::from_secs(300);
/// The production cool-down of a metadata document after its first failed fetch.
const METADATA_COOLDOWN: Duration = Duration::from_secs(10);

fn validator(config: ValidatorConfig) -> Validator {
    assert_eq!(config.refresh_cooldown, COOLDOWN, "tests run with the real cool-down");
    Validator::new(config).unwrap()
}

/// Whether `left` is what remains of a `cooldown` that started a moment ago.
fn just_started(left: Option<Duration>, cooldown: Duration) -> bool {
    left.is_some_and(|left| left <= cooldown && left > cooldown.saturating_sub(Duration::from_secs(2)))
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
    let _outage = idp.break_metadata();
    let validator = validator(idp.config());
    assert_eq!(validator.metadata_retry_after(Authority::Tenant(TENANT)), None, "nothing fetched yet");
    let tokens: Vec<String> =
        (0..20).map(|n| key.sign(&with(v1_claims(TENANT), &json!({"uti": format!("u{n}")})))).collect();
    let results = futures_util::future::join_all(tokens.iter().map(|t| check(&validator, t))).await;
    assert!(results.iter().all(|r| *r == Err(Rejection::KeysUnavailable)), "{results:?}");
    for token in &tokens {
        assert_eq!(check(&validator, token).await.unwrap_err(), Rejection::KeysUnavailable);
    }
    assert_eq!(idp.requests_to("/.well-known").await, 1, "no fetch per request");
    assert_eq!(idp.requests_to("/discovery/").await, 0);
    let retry_after = validator.metadata_retry_after(Authority::Tenant(TENANT));
    assert!(just_started(retry_after, METADATA_COOLDOWN), "the short first cool-down: {retry_after:?}");
}

#[tokio::test]
async fn a_first_metadata_failure_is_retried_after_the_short_cooldown() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let outage = idp.break_metadata();
    let first_cooldown = Duration::from_millis(300);
    let clock = Clock::manual();
    let validator =
        validator(ValidatorConfig { metadata_failure_cooldown: first_cooldown, clock, ..idp.config() });
    let tokens: Vec<String> =
        (0..3).map(|n| key.sign(&with(v1_claims(TENANT), &json!({"uti": format!("u{n}")})))).collect();
    for token in &tokens[..2] {
        assert_eq!(check(&validator, token).await.unwrap_err(), Rejection::KeysUnavailable);
    }
    assert_eq!(idp.requests_to("/.well-known").await, 1, "cooling down after the first failure");

    drop(outage);
    clock.advance(first_cooldown + Duration::from_millis(100));
    assert_eq!(validator.metadata_retry_after(Authority::Tenant(TENANT)), None);
    check(&validator, &tokens[2]).await.unwrap();
    assert_eq!(idp.requests_to("/.well-known").await, 2, "retried once the short cool-down passed");
}

#[tokio::test]
async fn consecutive_metadata_failures_double_the_cooldown_up_to_the_refresh_cooldown() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let outage = idp.break_metadata();
    let validator = validator(idp.config());
    let tenant = Authority::Tenant(TENANT);
    assert_eq!(
        check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap_err(),
        Rejection::KeysUnavailable
    );
    assert!(just_started(validator.metadata_retry_after(tenant), METADATA_COOLDOWN));
    // Each failed background refresh (which ignores the cool-down) is one more failure in a row.
    for expected in [20, 40, 80, 160, 300, 300] {
        validator.refresh().await;
        let retry_after = validator.metadata_retry_after(tenant);
        assert!(just_started(retry_after, Duration::from_secs(expected)), "{expected}: {retry_after:?}");
    }
    let token = key.sign(&with(v1_claims(TENANT), &json!({"uti": "cooling"})));
    assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::KeysUnavailable);
    assert_eq!(idp.requests_to("/.well-known").await, 7, "one per request-less refresh, none per request");

    // A success resets the cool-down: the next failure cools down briefly again.
    drop(outage);
    validator.refresh().await;
    assert_eq!(validator.metadata_retry_after(tenant), None);
    let _outage = idp.break_metadata();
    validator.refresh().await;
    assert!(just_started(validator.metadata_retry_after(tenant), METADATA_COOLDOWN));
}

#[tokio::test]
async fn a_stale_metadata_document_is_served_without_refetching_while_its_source_is_down() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let clock = Clock::manual();
    let config = ValidatorConfig { metadata_refresh: Duration::from_millis(200), clock, ..idp.config() };
    let validator = validator(config);
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    let outage = idp.break_metadata();
    clock.advance(Duration::from_millis(300));
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

#[tokio::test]
async fn insecure_http_is_the_operators_switch_not_the_authority_hosts_scheme() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    // A plain-http authority host alone does not allow a plain-http key set.
    let defaults = ValidatorConfig::new(idp.url());
    assert!(!defaults.allow_insecure_http);
    let token = key.sign(&v1_claims(TENANT));
    assert_eq!(check(&validator(defaults), &token).await.unwrap_err(), Rejection::KeysUnavailable);
    assert_eq!(idp.requests_to("/discovery/").await, 0);
    check(
        &validator(ValidatorConfig { allow_insecure_http: true, ..ValidatorConfig::new(idp.url()) }),
        &token,
    )
    .await
    .unwrap();
}
