//! Without onboarding's settings, invitations and the onboarding pages answer 503 `not_configured`
//! naming what is missing, and everything else works.

use reqwest::{Method, StatusCode};

use crate::{
    helpers::{assert_problem, fresh_database, spawn_app, spawn_app_on},
    onboarding_helpers::{ONBOARDING, create_invitation, open_page, press_connect},
};

const EVERY_SETTING: &str = "onboarding is not configured on this gateway: ACSGW_PUBLIC_BASE_URL, \
    ACSGW_ONBOARDING_CLIENT_ID, ACSGW_ONBOARDING_CLIENT_SECRET, ACSGW_VENDOR_NAME not set";

#[tokio::test]
async fn without_onboarding_settings_invitations_and_pages_answer_503_naming_them_and_tenants_still_work() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let invitations = format!("/admin/v1/tenants/{slug}/invitations");
    let token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    for response in [
        create_invitation(&app, &slug, None).await,
        app.admin(Method::GET, &invitations).send().await.unwrap(),
        app.admin(Method::DELETE, &format!("{invitations}/{}", uuid::Uuid::now_v7())).send().await.unwrap(),
        open_page(&app, token).await,
        press_connect(&app, token).await,
    ] {
        let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "not_configured").await;
        assert_eq!(body["detail"], EVERY_SETTING);
    }
    assert_eq!(app.get_tenant(&slug).await.status(), StatusCode::OK);
    let (_, created) = app.create_tenant().await;
    assert_eq!(created["status"], "active");
}

#[tokio::test]
async fn with_some_onboarding_settings_the_503_names_only_those_missing() {
    let database_url = fresh_database().await;
    let app = spawn_app_on(&database_url, &ONBOARDING[..2]).await.with_admin_key("test-operator").await;
    let (slug, _) = app.create_tenant().await;

    let response = create_invitation(&app, &slug, None).await;

    let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "not_configured").await;
    assert_eq!(
        body["detail"],
        "onboarding is not configured on this gateway: ACSGW_ONBOARDING_CLIENT_SECRET, ACSGW_VENDOR_NAME not set"
    );
}
