//! `none` asks for nothing; every other policy refuses a request without B before calling anyone.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use std::time::Duration;

use authz::{AuthorizerConfig, AuthzError, Decision, Policy};
use support::{KeyServer, TestKey, authorizer, hs256_policy, subject, webhook_policy};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

#[tokio::test]
async fn the_none_policy_allows_without_a_bearer_and_ignores_one_that_is_sent() {
    let authz = authorizer(AuthorizerConfig::default());
    for bearer in [None, Some(""), Some("not a token at all")] {
        let decision = authz.check(&Policy::None, bearer, &subject()).await;
        assert_eq!(decision, Ok(Decision::NotRequired), "{bearer:?}");
    }
}

#[tokio::test]
async fn every_other_policy_refuses_a_missing_bearer_as_invalid_authorization() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let webhook = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&webhook).await;
    let policies = [
        Policy::Entra { audience: "api://contoso".into(), required_scopes: vec!["access_as_user".into()] },
        keys.policy(),
        hs256_policy(),
        webhook_policy(&webhook, b"secret", Duration::from_secs(60)),
    ];
    let authz = authorizer(AuthorizerConfig::default());
    for policy in &policies {
        for bearer in [None, Some("")] {
            let error = authz.check(policy, bearer, &subject()).await.unwrap_err();
            assert_eq!(error, AuthzError::Missing, "{:?}", policy.kind());
            assert_eq!((error.code(), error.status()), ("invalid_authorization", 401));
            assert_eq!(error.to_string(), "authorization token missing");
        }
    }
    assert_eq!(keys.fetches().await, 0, "no key set is fetched for a missing bearer");
}

#[tokio::test]
async fn a_bearer_that_is_not_token_syntax_is_refused_before_any_call() {
    let webhook = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).expect(0).mount(&webhook).await;
    let policy = webhook_policy(&webhook, b"secret", Duration::ZERO);
    let authz = authorizer(AuthorizerConfig::default());
    let error = authz.check(&policy, Some("abc\r\nX-Injected: yes"), &subject()).await.unwrap_err();
    assert_eq!(error.code(), "invalid_authorization");
    assert_eq!(error.to_string(), "authorization token is malformed: not a bearer token");
}
