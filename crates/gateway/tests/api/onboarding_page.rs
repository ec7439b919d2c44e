//! The customer admin's page, `GET /onboarding/{token}`: what it says, the headers that keep it
//! safe, and the plain-words pages of links that cannot be used.

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::{
    helpers::{APP_ID, TestApp},
    onboarding_helpers::{
        TENANT_NAME, VENDOR_NAME, expire, fail_attempt, invite, list_invitations, mark_connected, open_page,
        press_connect, revoke_invitation, spawn_onboarding_app, token_of,
    },
};

/// A token of the right shape that no invitation has.
const UNKNOWN_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Asserts the headers every onboarding page carries, and returns its HTML.
async fn page_text(response: Response) -> String {
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    let policy = headers["content-security-policy"].to_str().unwrap();
    let style = html.split_once("<style>").and_then(|(_, rest)| rest.split_once("</style>")).unwrap().0;
    let style_hash = STANDARD.encode(Sha256::digest(style.as_bytes()));
    assert_eq!(
        policy,
        format!(
            "default-src 'none'; style-src 'sha256-{style_hash}'; form-action 'self' \
             https://login.microsoftonline.com; frame-ancestors 'none'; base-uri 'none'"
        )
    );
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"), "{html}");
    assert!(!html.contains("<script"), "works without JavaScript: {html}");
    html
}

async fn invited(app: &TestApp) -> (String, String, String) {
    let (slug, _) = app.create_tenant().await;
    let created = invite(app, &slug).await;
    (slug, created["id"].as_str().unwrap().to_owned(), token_of(&created))
}

#[tokio::test]
async fn the_page_says_who_asks_for_which_app_and_permissions_and_offers_to_connect() {
    let app = spawn_onboarding_app().await;
    let (_, _, token) = invited(&app).await;

    let response = open_page(&app, &token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = page_text(response).await;
    for expected in [
        format!("<h1>Connect your Microsoft 365 tenant to {VENDOR_NAME}</h1>"),
        format!("<strong>{TENANT_NAME}</strong>"),
        format!("<code>{APP_ID}</code>"),
        "<strong>Teams.ManageCalls</strong>".to_owned(),
        "<strong>Teams.ManageChats</strong>".to_owned(),
        "<h2>What you will be asked to approve</h2>".to_owned(),
        format!("<form method=\"post\" action=\"{token}/start\">"),
        "<button type=\"submit\">Connect your Microsoft 365 tenant</button>".to_owned(),
    ] {
        assert!(html.contains(&expected), "{expected} missing from {html}");
    }
}

#[tokio::test]
async fn a_failed_attempt_is_shown_on_the_page_with_how_to_fix_it() {
    let app = spawn_onboarding_app().await;
    let (_, id, token) = invited(&app).await;
    fail_attempt(&app, &id, "service_principal_missing", "AADSTS650052").await;

    let response = open_page(&app, &token).await;

    assert_eq!(response.status(), StatusCode::OK);
    let html = page_text(response).await;
    assert!(html.contains("New-MgServicePrincipal -AppId 1fd5118e-2576-4263-8130-9503064c837a"), "{html}");
    assert!(!html.contains("AADSTS650052"), "the stored error is for the vendor: {html}");
}

#[tokio::test]
async fn an_unknown_or_malformed_token_gets_a_404_page_that_names_no_tenant() {
    let app = spawn_onboarding_app().await;
    invited(&app).await;

    for token in [UNKNOWN_TOKEN, "short", "has%20space-and-is-long-enough-to-be-a-token-00"] {
        let response = open_page(&app, token).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{token}");
        let html = page_text(response).await;
        assert!(html.contains("<h1>Invitation not found</h1>"), "{html}");
        assert!(!html.contains(TENANT_NAME), "{html}");
    }
}

#[tokio::test]
async fn each_closed_invitation_gets_a_410_page_saying_why_that_names_no_tenant() {
    let app = spawn_onboarding_app().await;
    let (slug, revoked_id, revoked) = invited(&app).await;
    revoke_invitation(&app, &slug, &revoked_id).await;
    let (_, expired_id, expired) = invited(&app).await;
    expire(&app, &expired_id).await;
    let (_, used_id, used) = invited(&app).await;
    mark_connected(&app, &used_id, "5f1c9a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b", APP_ID, "Megan Bowen").await;

    for (token, heading) in [
        (revoked, "This invitation was withdrawn"),
        (expired, "This invitation has expired"),
        (used, "This invitation has already been used"),
    ] {
        let response = open_page(&app, &token).await;
        assert_eq!(response.status(), StatusCode::GONE, "{heading}");
        let html = page_text(response).await;
        assert!(html.contains(&format!("<h1>{heading}</h1>")), "{html}");
        assert!(!html.contains(TENANT_NAME), "{html}");
        assert_eq!(press_connect(&app, &token).await.status(), StatusCode::GONE, "{heading}");
    }
}

#[tokio::test]
async fn connecting_is_not_available_yet_and_leaves_the_invitation_usable() {
    let app = spawn_onboarding_app().await;
    let (slug, _, token) = invited(&app).await;

    let response = press_connect(&app, &token).await;

    assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
    assert!(page_text(response).await.contains("<h1>Connecting is not available yet</h1>"));
    assert_eq!(open_page(&app, &token).await.status(), StatusCode::OK);
    assert_eq!(list_invitations(&app, &slug).await[0]["state"], "pending");
    assert_eq!(press_connect(&app, UNKNOWN_TOKEN).await.status(), StatusCode::NOT_FOUND);
}
