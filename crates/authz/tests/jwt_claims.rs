//! The `jwt` policy with a key-set URL: a good RS256 token, then each claim rule that refuses one.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use std::collections::BTreeMap;

use authz::{AuthorizerConfig, AuthzError, Check, Decision, JwtKey, Policy, PolicyKind};
use serde_json::{Value, json};
use support::{KeyServer, OTHER_USER, TestKey, USER, authorizer, claims, now, subject, with};

async fn check(policy: &Policy, token: &str) -> Result<Decision, AuthzError> {
    authorizer(AuthorizerConfig::default()).check(policy, Some(token), &subject()).await
}

async fn refusal(changes: Value) -> AuthzError {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    check(&keys.policy(), &key.sign(&with(&changes))).await.unwrap_err()
}

fn policy_with(keys: &KeyServer, user_claim: &str, required: &[(&str, &str)]) -> Policy {
    Policy::Jwt {
        issuer: support::ISSUER.into(),
        audience: support::AUDIENCE.into(),
        key: JwtKey::JwksUri(keys.url()),
        user_claim: user_claim.into(),
        required_claims: required
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[tokio::test]
async fn a_good_rs256_token_for_the_same_user_is_allowed_after_one_key_fetch() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let authz = authorizer(AuthorizerConfig::default());
    for _ in 0..3 {
        let claims = claims();
        let decision = authz.check(&keys.policy(), Some(&key.sign(&claims)), &subject()).await;
        let expires_at = claims["exp"].as_i64();
        assert_eq!(decision, Ok(Decision::Allowed { policy: PolicyKind::Jwt, cached: false, expires_at }));
    }
    assert_eq!(keys.fetches().await, 1);
}

#[tokio::test]
async fn an_audience_array_holding_the_policys_audience_is_accepted() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let token = key.sign(&with(&json!({"aud": ["api://other", support::AUDIENCE]})));
    assert!(check(&keys.policy(), &token).await.is_ok());
}

#[tokio::test]
async fn a_wrong_issuer_is_refused_without_fetching_keys() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let token = key.sign(&with(&json!({"iss": "https://evil.example"})));
    let error = check(&keys.policy(), &token).await.unwrap_err();
    assert_eq!(error, AuthzError::Invalid(Check::Issuer));
    assert_eq!(error.to_string(), "authorization issuer not accepted");
    assert_eq!(keys.fetches().await, 0);
}

#[tokio::test]
async fn a_wrong_audience_is_refused_in_plain_words() {
    let error = refusal(json!({"aud": "api://someone-else"})).await;
    assert_eq!(
        (error.code(), error.to_string().as_str()),
        ("invalid_authorization", "authorization audience not accepted")
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_past_the_leeway() {
    let error = refusal(json!({"exp": now() - 120, "nbf": now() - 700, "iat": now() - 700})).await;
    assert_eq!(error.to_string(), "authorization token expired");
    assert_eq!(error.reason(), "expired");
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let error = refusal(json!({"nbf": now() + 300})).await;
    assert_eq!(error, AuthzError::Invalid(Check::NotYetValid));
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let error = refusal(json!({"exp": null})).await;
    assert_eq!(error.to_string(), "authorization token lacks claim exp");
}

#[tokio::test]
async fn a_token_valid_for_more_than_a_day_is_refused() {
    let error = refusal(json!({"exp": now() + 3 * 24 * 3600})).await;
    assert_eq!(error, AuthzError::Invalid(Check::LifetimeTooLong));
}

#[tokio::test]
async fn a_valid_token_for_another_user_is_a_user_mismatch() {
    let error = refusal(json!({"oid": OTHER_USER.to_string()})).await;
    assert_eq!((error.code(), error.status()), ("user_mismatch", 403));
    assert_eq!(error.to_string(), "authorization token belongs to another user");
}

#[tokio::test]
async fn a_token_without_the_user_claim_is_invalid_not_a_mismatch() {
    let error = refusal(json!({"oid": null})).await;
    assert_eq!(error, AuthzError::Invalid(Check::MissingClaim("oid".into())));
}

#[tokio::test]
async fn a_custom_user_claim_is_bound_to_a1s_oid_instead_of_oid() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let policy = policy_with(&keys, "ms_oid", &[]);
    let good = key.sign(&with(&json!({"oid": null, "ms_oid": USER.to_string().to_uppercase()})));
    assert!(check(&policy, &good).await.is_ok());
    let other = key.sign(&with(&json!({"oid": USER.to_string(), "ms_oid": OTHER_USER.to_string()})));
    assert_eq!(check(&policy, &other).await, Err(AuthzError::UserMismatch));
}

#[tokio::test]
async fn required_claims_must_match_as_strings_or_array_members() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let policy = policy_with(&keys, "oid", &[("tier", "premium"), ("roles", "caller")]);
    let good = key.sign(&with(&json!({"tier": "premium", "roles": ["reader", "caller"]})));
    assert!(check(&policy, &good).await.is_ok());
    let wrong = key.sign(&with(&json!({"tier": "free", "roles": ["caller"]})));
    let error = check(&policy, &wrong).await.unwrap_err();
    assert_eq!(error.to_string(), "authorization claim tier does not have the required value");
    let missing = key.sign(&with(&json!({"tier": "premium"})));
    assert_eq!(check(&policy, &missing).await, Err(Check::MissingClaim("roles".into()).into()));
}

#[tokio::test]
async fn duplicate_claims_are_refused_even_when_both_name_the_user() {
    let key = TestKey::generate("k1", 2048);
    let keys = KeyServer::start(&[&key]).await;
    let honest = key.sign(&claims());
    // Re-sign a payload whose `oid` appears twice: serde_json alone would keep the last one.
    let payload = claims().to_string().replacen('{', &format!(r#"{{"oid":"{OTHER_USER}","#), 1);
    let token = key.sign_raw(&json!({"alg": "RS256", "kid": "k1"}).to_string(), &payload);
    let error = check(&keys.policy(), &token).await.unwrap_err();
    assert_eq!(error, AuthzError::Invalid(Check::Malformed("a member appears twice")));
    assert!(check(&keys.policy(), &honest).await.is_ok());
}
