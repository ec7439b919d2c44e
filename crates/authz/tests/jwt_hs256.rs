//! The `jwt` policy with a shared secret: HS256 and nothing else.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use authz::{AuthorizerConfig, AuthzError, Check, Decision, JwtKey, PolicyKind};
use serde_json::json;
use support::{
    HS256_SECRET, TestKey, authorizer, claims, hs256_policy, jwt_policy, sign_hs256, subject, with,
};

fn header() -> serde_json::Value {
    json!({"typ": "JWT", "alg": "HS256"})
}

#[tokio::test]
async fn a_token_signed_with_the_shared_secret_is_allowed() {
    let claims = claims();
    let token = sign_hs256(HS256_SECRET, &header(), &claims);
    let decision =
        authorizer(AuthorizerConfig::default()).check(&hs256_policy(), Some(&token), &subject()).await;
    let expires_at = claims["exp"].as_i64();
    assert_eq!(decision, Ok(Decision::Allowed { policy: PolicyKind::Jwt, cached: false, expires_at }));
}

#[tokio::test]
async fn a_token_signed_with_another_secret_fails_the_signature_check() {
    let token = sign_hs256(b"another-secret-of-at-least-32-bytes!!", &header(), &claims());
    let error =
        authorizer(AuthorizerConfig::default()).check(&hs256_policy(), Some(&token), &subject()).await;
    assert_eq!(error, Err(AuthzError::Invalid(Check::Signature)));
}

#[tokio::test]
async fn an_rs256_token_is_refused_under_a_shared_secret_policy() {
    let key = TestKey::generate("k1", 2048);
    let token = key.sign(&claims());
    let error =
        authorizer(AuthorizerConfig::default()).check(&hs256_policy(), Some(&token), &subject()).await;
    assert_eq!(error, Err(AuthzError::Invalid(Check::Algorithm)));
}

#[tokio::test]
async fn claim_rules_and_the_user_binding_apply_as_with_a_key_set() {
    let authz = authorizer(AuthorizerConfig::default());
    let expired = sign_hs256(HS256_SECRET, &header(), &with(&json!({"exp": support::now() - 3600})));
    assert_eq!(authz.check(&hs256_policy(), Some(&expired), &subject()).await, Err(Check::Expired.into()));
    let other = sign_hs256(HS256_SECRET, &header(), &with(&json!({"oid": support::OTHER_USER.to_string()})));
    assert_eq!(authz.check(&hs256_policy(), Some(&other), &subject()).await, Err(AuthzError::UserMismatch));
}

#[tokio::test]
async fn a_shared_secret_shorter_than_256_bits_accepts_nothing() {
    let short = b"too-short".to_vec();
    let policy = jwt_policy(JwtKey::Hs256(short.clone().into()));
    let token = sign_hs256(&short, &header(), &claims());
    let error =
        authorizer(AuthorizerConfig::default()).check(&policy, Some(&token), &subject()).await.unwrap_err();
    assert_eq!(error, AuthzError::Invalid(Check::Key("shared secret shorter than 256 bits")));
}
