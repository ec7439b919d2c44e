//! Key sets of `jwt` policies: fetched once, refetched on an unknown kid at most once per cool-down,
//! kept while the vendor is down for a bounded time, and "unavailable" (not "invalid") without them.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use std::time::Duration;

use authz::{AuthorizerConfig, AuthzError, Check, Subject};
use futures_util::future::join_all;
use jose::clock::Clock;
use support::{KeyServer, TestKey, authorizer, claims, subject};

fn cooldown(cooldown: Duration) -> AuthorizerConfig {
    AuthorizerConfig { jwks_refresh_cooldown: cooldown, ..AuthorizerConfig::default() }
}

#[tokio::test]
async fn an_unknown_kid_causes_one_refetch_which_finds_a_rotated_key() {
    let old = TestKey::generate("old", 2048);
    let new = TestKey::generate("new", 2048);
    let keys = KeyServer::start(&[&old]).await;
    let authz = authorizer(cooldown(Duration::ZERO));
    assert!(authz.check(&keys.policy(), Some(&old.sign(&claims())), &subject()).await.is_ok());
    keys.publish(&[&new]).await;
    assert!(authz.check(&keys.policy(), Some(&new.sign(&claims())), &subject()).await.is_ok());
    assert_eq!(keys.fetches().await, 2);
    // Merged across fetches: the key that left the set is still trusted for its TTL.
    assert!(authz.check(&keys.policy(), Some(&old.sign(&claims())), &subject()).await.is_ok());
    assert_eq!(keys.fetches().await, 2);
}

#[tokio::test]
async fn a_kid_still_unknown_after_the_refetch_is_invalid_authorization() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let authz = authorizer(cooldown(Duration::ZERO));
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    let stranger = key.with_kid("stranger").sign(&claims());
    let error = authz.check(&keys.policy(), Some(&stranger), &subject()).await.unwrap_err();
    assert_eq!(error, AuthzError::Invalid(Check::UnknownKey));
    assert_eq!(error.to_string(), "authorization token signed with an unknown key");
    assert_eq!(keys.fetches().await, 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_fetch_per_cool_down() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let authz = authorizer(AuthorizerConfig::default());
    let tokens: Vec<String> = (0..40).map(|i| key.with_kid(&format!("ghost-{i}")).sign(&claims())).collect();
    let (policy, subject) = (keys.policy(), subject());
    let concurrent = tokens.iter().map(|t| authz.check(&policy, Some(t), &subject));
    for result in join_all(concurrent).await {
        assert_eq!(result, Err(AuthzError::Invalid(Check::UnknownKey)));
    }
    for token in &tokens {
        assert_eq!(authz.check(&keys.policy(), Some(token), &subject).await, Err(Check::UnknownKey.into()));
    }
    assert_eq!(keys.fetches().await, 1);
    // The key that was published is found without another fetch.
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject).await.is_ok());
    assert_eq!(keys.fetches().await, 1);
}

#[tokio::test]
async fn a_cached_key_keeps_working_while_the_key_set_is_down() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let authz =
        authorizer(AuthorizerConfig { jwks_refresh_interval: Duration::ZERO, ..cooldown(Duration::ZERO) });
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    keys.break_keys().await;
    for _ in 0..3 {
        assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    }
}

#[tokio::test]
async fn without_any_usable_key_an_unreachable_key_set_is_upstream_unavailable() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    keys.break_keys().await;
    let authz = authorizer(AuthorizerConfig::default());
    for _ in 0..3 {
        let error = authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.unwrap_err();
        assert_eq!(error, AuthzError::KeysUnavailable);
        assert_eq!((error.code(), error.status()), ("upstream_unavailable", 503));
        assert_eq!(error.to_string(), "authorization signing keys unavailable");
    }
    assert_eq!(keys.fetches().await, 1, "failed fetches respect the cool-down too");
}

#[tokio::test]
async fn last_known_good_keys_expire_after_their_ttl_while_the_key_set_is_down() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let clock = Clock::manual();
    let config =
        AuthorizerConfig { jwks_key_ttl: Duration::from_millis(200), clock, ..cooldown(Duration::ZERO) };
    let authz = authorizer(config);
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    keys.break_keys().await;
    clock.advance(Duration::from_millis(400));
    let error = authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await;
    assert_eq!(error, Err(AuthzError::KeysUnavailable));
}

#[tokio::test]
async fn a_key_set_in_use_is_fetched_again_in_the_background_after_its_refresh_interval() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let authz =
        authorizer(AuthorizerConfig { jwks_refresh_interval: Duration::ZERO, ..cooldown(Duration::ZERO) });
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    for _ in 0..100 {
        if keys.fetches().await >= 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the key set was not refreshed in the background");
}

#[tokio::test]
async fn tenants_keep_their_own_key_sets_and_forgetting_one_drops_only_its_keys() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let authz = authorizer(AuthorizerConfig::default());
    let other = Subject { tenant: "contoso".into(), ..subject() };
    for who in [&subject(), &other, &subject(), &other] {
        assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), who).await.is_ok());
    }
    assert_eq!(keys.fetches().await, 2, "one fetch per tenant");
    authz.forget_tenant(support::TENANT);
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &other).await.is_ok());
    assert_eq!(keys.fetches().await, 2);
    assert!(authz.check(&keys.policy(), Some(&key.sign(&claims())), &subject()).await.is_ok());
    assert_eq!(keys.fetches().await, 3);
}
