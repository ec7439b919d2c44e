//! Webhook answers are reused for the policy's `cache_for`, shared by concurrent identical checks,
//! and never reused for another user, another bearer or a forgotten tenant.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use std::time::{Duration, Instant};

use authz::{AuthorizerConfig, AuthzError, Decision, PolicyKind, Subject};
use futures_util::future::join_all;
use support::{OTHER_USER, allow, authorizer, subject, webhook, webhook_policy};

const MINUTE: Duration = Duration::from_secs(60);

fn allowed(cached: bool) -> Result<Decision, AuthzError> {
    Ok(Decision::Allowed { policy: PolicyKind::Webhook, cached, expires_at: None })
}

#[tokio::test]
async fn an_allow_is_reused_for_cache_for_with_one_upstream_call() {
    let server = webhook(allow(true), 1).await;
    let policy = webhook_policy(&server, b"s", MINUTE);
    let authz = authorizer(AuthorizerConfig::default());
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(true));
}

#[tokio::test]
async fn a_deny_is_reused_too() {
    let server = webhook(allow(false), 1).await;
    let policy = webhook_policy(&server, b"s", MINUTE);
    let authz = authorizer(AuthorizerConfig::default());
    for _ in 0..3 {
        assert_eq!(authz.check(&policy, Some("b"), &subject()).await, Err(AuthzError::Denied));
    }
}

#[tokio::test]
async fn a_zero_cache_for_asks_every_time() {
    let server = webhook(allow(true), 2).await;
    let policy = webhook_policy(&server, b"s", Duration::ZERO);
    let authz = authorizer(AuthorizerConfig::default());
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
}

#[tokio::test]
async fn an_answer_expires_after_cache_for() {
    let server = webhook(allow(true), 2).await;
    let policy = webhook_policy(&server, b"s", Duration::from_millis(100));
    let authz = authorizer(AuthorizerConfig::default());
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    // Moka keeps its own time, so the answer's expiry is watched for, not slept past: until then
    // every check is a cache hit, and the first check after it asks the webhook again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let decision = authz.check(&policy, Some("b"), &subject()).await;
        if decision == allowed(false) {
            break;
        }
        assert_eq!(decision, allowed(true), "before cache_for has passed the answer is reused");
        assert!(Instant::now() < deadline, "the cached answer never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn concurrent_identical_checks_share_one_upstream_call() {
    let slow_allow = allow(true).set_delay(Duration::from_millis(200));
    let server = webhook(slow_allow, 1).await;
    let policy = webhook_policy(&server, b"s", MINUTE);
    let authz = authorizer(AuthorizerConfig::default());
    let subject = subject();
    let checks = (0..10).map(|_| authz.check(&policy, Some("b"), &subject));
    let decisions = join_all(checks).await;
    assert!(decisions.iter().all(Result::is_ok), "{decisions:?}");
    assert_eq!(decisions.iter().filter(|d| **d == allowed(false)).count(), 1, "exactly one check asked");
}

#[tokio::test]
async fn another_user_or_another_bearer_is_asked_about_separately() {
    let server = webhook(allow(true), 3).await;
    let policy = webhook_policy(&server, b"s", MINUTE);
    let authz = authorizer(AuthorizerConfig::default());
    let other_user = Subject { oid: OTHER_USER, ..subject() };
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    assert_eq!(authz.check(&policy, Some("b"), &other_user).await, allowed(false));
    assert_eq!(authz.check(&policy, Some("another-b"), &subject()).await, allowed(false));
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(true));
}

#[tokio::test]
async fn forgetting_a_tenant_drops_its_cached_answers() {
    let server = webhook(allow(true), 2).await;
    let policy = webhook_policy(&server, b"s", MINUTE);
    let authz = authorizer(AuthorizerConfig::default());
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    authz.forget_tenant(support::TENANT);
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(true));
}

#[tokio::test]
async fn forgetting_another_tenant_keeps_this_tenants_answers() {
    let server = webhook(allow(true), 1).await;
    let policy = webhook_policy(&server, b"s", MINUTE);
    let authz = authorizer(AuthorizerConfig::default());
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(false));
    authz.forget_tenant("contoso");
    assert_eq!(authz.check(&policy, Some("b"), &subject()).await, allowed(true));
}
