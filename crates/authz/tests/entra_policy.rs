//! The `entra` policy: the gateway's verifier checks B, this crate binds it to A1's user.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod support;

use authz::{AuthorizerConfig, AuthzError, Decision, Policy, PolicyKind, Refusal, VerifiedEntraToken};
use support::{FakeEntra, OTHER_TID, OTHER_USER, TID, USER, VerifierCall, authorizer_with, subject};

/// The `exp` the verifier reports for B.
const EXP: i64 = 1_900_000_000;

fn policy() -> Policy {
    Policy::Entra {
        audience: "api://contoso".into(),
        required_scopes: vec!["access_as_user".into(), "calls".into()],
    }
}

#[tokio::test]
async fn a_token_for_the_same_user_is_allowed_after_one_verifier_call_with_a1s_tenant() {
    let entra = FakeEntra::answering(Ok(VerifiedEntraToken { tid: TID, oid: USER, expires_at: EXP }));
    let authz = authorizer_with(AuthorizerConfig::default(), entra.clone());
    let decision = authz.check(&policy(), Some("b.token.here"), &subject()).await;
    let expires_at = Some(EXP);
    assert_eq!(decision, Ok(Decision::Allowed { policy: PolicyKind::Entra, cached: false, expires_at }));
    assert_eq!(
        entra.calls(),
        vec![VerifierCall {
            token: "b.token.here".into(),
            tid: TID,
            audience: "api://contoso".into(),
            required_scopes: vec!["access_as_user".into(), "calls".into()],
        }]
    );
}

#[tokio::test]
async fn a_token_for_another_user_is_a_user_mismatch() {
    let entra = FakeEntra::answering(Ok(VerifiedEntraToken { tid: TID, oid: OTHER_USER, expires_at: EXP }));
    let authz = authorizer_with(AuthorizerConfig::default(), entra);
    let error = authz.check(&policy(), Some("b"), &subject()).await.unwrap_err();
    assert_eq!(error, AuthzError::UserMismatch);
    assert_eq!((error.code(), error.status()), ("user_mismatch", 403));
}

#[tokio::test]
async fn a_token_from_another_entra_tenant_is_a_user_mismatch_even_with_the_same_oid() {
    let entra = FakeEntra::answering(Ok(VerifiedEntraToken { tid: OTHER_TID, oid: USER, expires_at: EXP }));
    let authz = authorizer_with(AuthorizerConfig::default(), entra);
    let error = authz.check(&policy(), Some("b"), &subject()).await.unwrap_err();
    assert_eq!(error, AuthzError::UserMismatch);
}

#[tokio::test]
async fn a_verifier_refusal_is_invalid_authorization_with_its_detail() {
    let refusal = Refusal::Invalid { reason: "expired", detail: "token expired".into() };
    let authz = authorizer_with(AuthorizerConfig::default(), FakeEntra::answering(Err(refusal)));
    let error = authz.check(&policy(), Some("b"), &subject()).await.unwrap_err();
    assert_eq!((error.code(), error.status(), error.reason()), ("invalid_authorization", 401, "expired"));
    assert_eq!(error.to_string(), "authorization token expired");
}

#[tokio::test]
async fn a_verifier_that_saw_another_user_or_could_not_verify_maps_to_its_code() {
    let authz = authorizer_with(AuthorizerConfig::default(), FakeEntra::answering(Err(Refusal::OtherUser)));
    assert_eq!(authz.check(&policy(), Some("b"), &subject()).await, Err(AuthzError::UserMismatch));
    let authz = authorizer_with(AuthorizerConfig::default(), FakeEntra::answering(Err(Refusal::Unavailable)));
    let error = authz.check(&policy(), Some("b"), &subject()).await.unwrap_err();
    assert_eq!((error.code(), error.status()), ("upstream_unavailable", 503));
}
