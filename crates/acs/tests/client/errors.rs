//! How ACS's refusals map to `AcsError`, each after exactly one call: none of them is retried.

use acs::{AcsError, UserRefusal};
use wiremock::{MockServer, ResponseTemplate};

use crate::helpers::*;

async fn one_answer(template: ResponseTemplate) -> (AcsError, usize) {
    let server = MockServer::start().await;
    answer_exchange(&server, template, None).await;
    let error = exchange(&client(config()), &server, &access_key()).await.unwrap_err();
    (error, exchange_calls(&server).await.len())
}

#[tokio::test]
async fn an_invalid_entra_token_is_reported_as_invalid_token_after_one_call() {
    let (error, calls) =
        one_answer(acs_error(401, "InvalidAccessToken", "Provided access token is not valid.", None)).await;
    assert!(matches!(error, AcsError::InvalidToken), "{error:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_validation_error_is_a_bad_request_naming_the_target_after_one_call() {
    let (error, calls) =
        one_answer(acs_error(400, "ValidationError", "Provided AppId has invalid format.", Some("appId")))
            .await;
    let AcsError::BadRequest { code, message, target } = error else { panic!("{error:?}") };
    assert_eq!(
        (code.as_str(), message.as_str(), target.as_deref()),
        ("ValidationError", "Provided AppId has invalid format.", Some("appId"))
    );
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_401_with_another_code_means_our_credential_was_rejected() {
    let (error, calls) = one_answer(acs_error(401, "Unauthorized", "Denied.", None)).await;
    assert!(
        matches!(&error, AcsError::CredentialRejected { status: 401, code: Some(code) } if code == "Unauthorized"),
        "{error:?}"
    );
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_401_without_a_body_means_our_credential_was_rejected() {
    let (error, calls) = one_answer(ResponseTemplate::new(401)).await;
    assert!(matches!(error, AcsError::CredentialRejected { status: 401, code: None }), "{error:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_missing_teams_licence_is_the_users_refusal_after_one_call() {
    let (error, calls) = one_answer(unlicensed_user()).await;
    assert!(matches!(error, AcsError::UserRefused(UserRefusal::TeamsLicenseMissing)), "{error:?}");
    assert_eq!(calls, 1, "a refusal of the user is not retried");
}

#[tokio::test]
async fn teams_disabled_for_the_users_organisation_is_the_users_refusal_after_one_call() {
    let (error, calls) =
        one_answer(acs_error(403, "TeamsDisabledForTenantForbidden", "Teams is disabled.", None)).await;
    assert!(matches!(error, AcsError::UserRefused(UserRefusal::TeamsDisabledForTenant)), "{error:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_403_with_an_unknown_code_means_our_credential_was_rejected() {
    let (error, calls) = one_answer(acs_error(403, "SomethingNew", "Denied.", None)).await;
    assert!(
        matches!(&error, AcsError::CredentialRejected { status: 403, code: Some(code) } if code == "SomethingNew"),
        "{error:?}"
    );
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_403_means_our_credential_was_rejected() {
    let (error, calls) = one_answer(acs_error(403, "Forbidden", "No role.", None)).await;
    assert!(matches!(error, AcsError::CredentialRejected { status: 403, .. }), "{error:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn an_unexpected_status_is_a_protocol_error() {
    let (error, calls) = one_answer(acs_error(404, "NotFound", "No such route.", None)).await;
    assert!(matches!(&error, AcsError::Protocol(detail) if detail.contains("404")), "{error:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn a_200_that_is_not_a_token_is_a_protocol_error() {
    let (error, calls) =
        one_answer(ResponseTemplate::new(200).set_body_string("<html>proxy login</html>")).await;
    assert!(matches!(error, AcsError::Protocol(_)), "{error:?}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn an_oversized_answer_is_not_buffered_whole() {
    let (error, _) = one_answer(ResponseTemplate::new(200).set_body_string("x".repeat(1024 * 1024))).await;
    assert!(matches!(error, AcsError::Protocol(_)), "{error:?}");
}
