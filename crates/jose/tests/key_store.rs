//! The key store against a real HTTP server: single flight, the refresh cool-down, last known good
//! keys, refused keys and the ages reported for metrics.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use jose::{
    base64url,
    clock::Clock,
    keys::{KeyError, KeyPolicy, KeyStore},
};
use serde_json::{Value, json};
use url::Url;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};

fn policy(refresh_cooldown: Duration) -> KeyPolicy {
    KeyPolicy {
        timeout: Duration::from_secs(5),
        key_ttl: Duration::from_secs(3600),
        refresh_cooldown,
        refresh_interval: None,
        max_sets: None,
        clock: Clock::real(),
    }
}

/// An RSA key of `bits` bits (only its shape: nothing is verified with it here).
fn jwk(kid: &str, bits: usize) -> Value {
    let mut modulus = vec![0u8; bits / 8];
    modulus[0] = 0x80;
    json!({"kid": kid, "kty": "RSA", "use": "sig", "n": base64url::encode(modulus), "e": "AQAB"})
}

async fn key_set(server: &MockServer, keys: &[Value], status: u16) -> Url {
    server.reset().await;
    let answer = ResponseTemplate::new(status).set_body_json(json!({"keys": keys}));
    Mock::given(path("/keys")).respond_with(answer).mount(server).await;
    Url::parse(&format!("{}/keys", server.uri())).unwrap()
}

async fn fetches(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn concurrent_lookups_of_an_unknown_kid_share_one_fetch() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let store = KeyStore::new(http_client(), policy(Duration::from_secs(300)));
    let lookups = (0..8).map(|_| store.key(&url, "k1", |_| {}));
    let keys = futures_util::future::join_all(lookups).await;
    assert!(keys.iter().all(Result::is_ok));
    assert_eq!(fetches(&server).await, 1);
}

#[tokio::test]
async fn unknown_kids_cause_at_most_one_fetch_per_cool_down() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let store = KeyStore::new(http_client(), policy(Duration::from_secs(300)));
    for kid in ["invented-1", "invented-2", "invented-3"] {
        assert_eq!(store.key(&url, kid, |_| {}).await.err(), Some(KeyError::Unknown), "{kid}");
    }
    assert_eq!(fetches(&server).await, 1);
    let eager = KeyStore::new(http_client(), policy(Duration::ZERO));
    for kid in ["invented-1", "invented-2"] {
        assert_eq!(eager.key(&url, kid, |_| {}).await.err(), Some(KeyError::Unknown));
    }
    assert_eq!(fetches(&server).await, 3, "without a cool-down every miss asks again");
}

#[tokio::test]
async fn known_keys_outlive_a_failing_key_set_and_unknown_kids_are_then_unavailable() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let store = KeyStore::new(http_client(), policy(Duration::ZERO));
    let heard = AtomicUsize::new(0);
    assert!(store.key(&url, "k1", |ok| assert!(ok)).await.is_ok());
    key_set(&server, &[], 500).await;
    assert!(store.key(&url, "k1", |_| panic!("a known key needs no fetch")).await.is_ok());
    let unknown = store.key(&url, "k2", |ok| {
        assert!(!ok);
        heard.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(unknown.await.err(), Some(KeyError::Unavailable));
    assert_eq!(heard.load(Ordering::Relaxed), 1, "the failed fetch is reported");
}

#[tokio::test]
async fn a_failed_fetch_makes_unknown_kids_unavailable_for_the_whole_cool_down() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[], 503).await;
    let store = KeyStore::new(http_client(), policy(Duration::from_secs(300)));
    for _ in 0..3 {
        assert_eq!(store.key(&url, "k1", |_| {}).await.err(), Some(KeyError::Unavailable));
    }
    assert_eq!(fetches(&server).await, 1);
}

#[tokio::test]
async fn keys_age_out_after_their_ttl_when_the_set_cannot_be_read() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let clock = Clock::manual();
    let short = KeyPolicy { key_ttl: Duration::from_millis(100), clock, ..policy(Duration::ZERO) };
    let store = KeyStore::new(http_client(), short);
    assert!(store.key(&url, "k1", |_| {}).await.is_ok());
    key_set(&server, &[], 500).await;
    clock.advance(Duration::from_millis(150));
    assert_eq!(store.key(&url, "k1", |_| {}).await.err(), Some(KeyError::Unavailable));
}

#[tokio::test]
async fn a_key_past_its_ttl_within_the_cool_down_after_a_good_fetch_has_aged_out() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let clock = Clock::manual();
    let short = KeyPolicy { key_ttl: Duration::from_millis(100), clock, ..policy(Duration::from_secs(300)) };
    let store = KeyStore::new(http_client(), short);
    assert!(store.key(&url, "k1", |_| {}).await.is_ok());
    clock.advance(Duration::from_millis(150));
    assert_eq!(store.key(&url, "k1", |_| {}).await.err(), Some(KeyError::AgedOut));
    assert_eq!(fetches(&server).await, 1, "the cool-down still holds");
}

#[tokio::test]
async fn short_keys_are_refused_with_their_reason_and_junk_entries_are_skipped() {
    let server = MockServer::start().await;
    let keys = [jwk("short", 1024), json!("not a key"), json!({"kid": 5}), jwk("k1", 2048)];
    let url = key_set(&server, &keys, 200).await;
    let store = KeyStore::new(http_client(), policy(Duration::from_secs(300)));
    let refused = store.key(&url, "short", |_| {}).await.err();
    assert_eq!(refused, Some(KeyError::Refused("RSA key shorter than 2048 bits")));
    assert!(store.key(&url, "k1", |_| {}).await.is_ok());
}

#[tokio::test]
async fn key_ages_name_each_set_and_kid_and_refresh_all_fetches_every_set_again() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let store = KeyStore::new(http_client(), policy(Duration::from_secs(300)));
    assert!(store.key(&url, "k1", |_| {}).await.is_ok());
    let ages = store.key_ages();
    assert_eq!(ages.len(), 1);
    assert_eq!((&ages[0].0, ages[0].1.as_str()), (&url, "k1"));
    assert!(ages[0].2 < Duration::from_secs(60));
    let refreshed = AtomicUsize::new(0);
    store
        .refresh_all(|_, ok| {
            if ok {
                refreshed.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
    assert_eq!((refreshed.load(Ordering::Relaxed), fetches(&server).await), (1, 2));
}

#[tokio::test]
async fn forgotten_sets_are_fetched_again() {
    let server = MockServer::start().await;
    let url = key_set(&server, &[jwk("k1", 2048)], 200).await;
    let store = KeyStore::new(http_client(), policy(Duration::from_secs(300)));
    assert!(store.key(&url, "k1", |_| {}).await.is_ok());
    store.forget(|_| true);
    assert!(store.key(&url, "k1", |_| {}).await.is_ok());
    assert_eq!(fetches(&server).await, 2);
}

/// An HTTP client for tests, with a timeout: a hung server fails the test instead of holding it.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}
