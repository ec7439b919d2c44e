//! Admin consent, ACS's service principal, test users, and unlicensed users at the ACS emulator.

use std::{net::TcpListener, sync::Arc};

use devstack::emulator::{self, Clock, EmulatorConfig, Faults};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    browser::{Flow, REDIRECT_URI, Redirect, TEAMS_SCOPES},
    issuer_support::TestIssuer,
    signing,
};

/// Signs `admin` in at the admin consent endpoint and returns the consent page's HTML.
async fn consent_page(app: &TestIssuer, path: &str, admin: &Value) -> String {
    let page = app.submit(path, &[("user", admin["oid"].as_str().unwrap())]).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

#[tokio::test]
async fn an_admin_accepting_admin_consent_is_sent_back_with_the_tenant_and_its_users_then_pass_silently() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let admin = app.add_user(tenant, "Nestor Wilke", true, true).await;
    let path = flow.admin_consent_path("organizations");

    let html = consent_page(&app, &path, &admin).await;
    let accepted = Redirect::of(
        &app.submit(&path, &[("user", admin["oid"].as_str().unwrap()), ("consent", "accept")]).await,
    );
    let hint = admin["username"].as_str().unwrap();
    let silent =
        flow.authorize_path("organizations", TEAMS_SCOPES, &[("prompt", "none"), ("login_hint", hint)]);
    let after = Redirect::of(&app.browse(&silent).await);

    assert!(html.contains("Teams.ManageCalls") && html.contains(&flow.client_id.to_string()), "{html}");
    assert!(html.contains("value=\"accept\"") && html.contains("value=\"cancel\""), "{html}");
    assert_eq!(accepted.to, REDIRECT_URI);
    assert_eq!(accepted.param("admin_consent"), "True");
    assert_eq!(accepted.param("tenant"), tenant.to_string());
    assert_eq!(accepted.param("state"), flow.state);
    assert!(accepted.param("scope").contains("Teams.ManageChats"));
    assert!(app.issuer().has_admin_consent(tenant, flow.client_id));
    assert!(after.params.contains_key("code"), "{after:?}");
}

#[tokio::test]
async fn an_admin_already_signed_in_goes_straight_to_the_consent_page() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let admin = app.add_user(tenant, "Nestor Wilke", true, true).await;
    let sign_in = flow.authorize_path("organizations", "openid profile", &[]);
    let signed_in = app.submit(&sign_in, &[("user", admin["oid"].as_str().unwrap())]).await;
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let page = crate::browser::browser()
        .get(app.url(&flow.admin_consent_path(&tenant.to_string())))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();

    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Permissions requested") && html.contains("Nestor Wilke"), "{html}");
}

#[tokio::test]
async fn an_admin_cancelling_admin_consent_gets_access_denied_with_aadsts65004_and_nothing_is_granted() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let admin = app.add_user(tenant, "Nestor Wilke", true, true).await;
    let path = flow.admin_consent_path(&tenant.to_string());

    let cancelled = Redirect::of(
        &app.submit(&path, &[("user", admin["oid"].as_str().unwrap()), ("consent", "cancel")]).await,
    );

    assert_eq!((cancelled.param("error"), cancelled.param("error_subcode")), ("access_denied", "cancel"));
    assert_eq!(cancelled.aadsts(), "65004");
    assert_eq!(cancelled.param("state"), flow.state);
    assert!(!cancelled.params.contains_key("tenant"));
    assert!(!app.issuer().has_admin_consent(tenant, flow.client_id));
}

#[tokio::test]
async fn a_non_admin_can_neither_grant_admin_consent_nor_get_teams_permissions_without_it() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let user = app.add_user(tenant, "Megan Bowen", false, true).await;

    let consent = Redirect::of(
        &app.submit(&flow.admin_consent_path("organizations"), &[("user", user["oid"].as_str().unwrap())])
            .await,
    );
    let authorize = app.sign_in(&flow.authorize_path("organizations", TEAMS_SCOPES, &[]), &user).await;

    for denied in [&consent, &authorize] {
        assert_eq!((denied.param("error"), denied.aadsts()), ("access_denied", "90094"));
        assert_eq!(denied.param("state"), flow.state);
    }
    assert!(!app.issuer().has_admin_consent(tenant, flow.client_id));
}

#[tokio::test]
async fn an_admin_signing_in_for_teams_permissions_sees_the_consent_page_and_accepting_answers_a_code() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let admin = app.add_user(tenant, "Nestor Wilke", true, true).await;
    let path = flow.authorize_path(&tenant.to_string(), TEAMS_SCOPES, &[]);

    let html = consent_page(&app, &path, &admin).await;
    let accepted = Redirect::of(
        &app.submit(&path, &[("user", admin["oid"].as_str().unwrap()), ("consent", "accept")]).await,
    );

    assert!(html.contains("Permissions requested"), "{html}");
    assert!(accepted.params.contains_key("code"), "{accepted:?}");
    assert!(app.issuer().has_admin_consent(tenant, flow.client_id));
}

#[tokio::test]
async fn without_acs_service_principal_admin_consent_and_authorization_fail_with_aadsts650052() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let admin = app.add_user(tenant, "Nestor Wilke", true, true).await;
    let switch = format!("/dev/tenants/{tenant}/service-principal");
    let (status, setting) = app.post_json(&switch, &json!({"acs": false})).await;
    assert_eq!((status, setting), (StatusCode::OK, json!({"tenant": tenant, "acs": false})));
    let hint = admin["username"].as_str().unwrap();

    let consent = Redirect::of(
        &app.submit(&flow.admin_consent_path("organizations"), &[("user", admin["oid"].as_str().unwrap())])
            .await,
    );
    let silent =
        flow.authorize_path("organizations", TEAMS_SCOPES, &[("prompt", "none"), ("login_hint", hint)]);
    let authorize = Redirect::of(&app.browse(&silent).await);

    for refused in [&consent, &authorize] {
        assert_eq!((refused.param("error"), refused.aadsts()), ("invalid_client", "650052"));
        let description = refused.param("error_description");
        assert!(
            description.contains("'1fd5118e-2576-4263-8130-9503064c837a'(Azure Communication Services)"),
            "{description}"
        );
        assert!(
            description.contains(&format!("your organization '{tenant}' lacks a service principal")),
            "{description}"
        );
    }
}

#[tokio::test]
async fn test_users_get_a_generated_oid_are_listed_per_tenant_and_a_taken_oid_is_a_conflict() {
    let app = TestIssuer::spawn().await;
    let (tenant, other) = (Uuid::new_v4(), Uuid::new_v4());
    let first = app.add_user(tenant, "Alex Wilber", false, false).await;
    app.add_user(other, "Diego Siciliani", false, true).await;

    let (status, listed) = app.get(&format!("/dev/users?tenant={tenant}")).await;
    let taken = json!({"tenant": tenant, "oid": first["oid"], "name": "Again"});
    let (conflict, _) = app.post_json("/dev/users", &taken).await;
    let (bad, error) = app.post_json("/dev/users", &json!({"tenant": "contoso", "name": "X"})).await;

    assert!(Uuid::parse_str(first["oid"].as_str().unwrap()).is_ok());
    assert_eq!((&first["admin"], &first["teamsLicensed"]), (&json!(false), &json!(false)));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, json!({"users": [first]}));
    assert_eq!(conflict, StatusCode::CONFLICT);
    assert_eq!((bad, &error["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_request")));
}

#[tokio::test]
async fn an_unlicensed_test_user_is_refused_by_the_linked_emulator_and_a_licensed_one_is_served() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let unlicensed = app.add_user(tenant, "No Licence", false, false).await;
    let licensed = app.add_user(tenant, "Has Licence", false, true).await;
    let key = vec![7u8; 32];
    let config = EmulatorConfig {
        access_key: key.clone(),
        resource_id: Uuid::new_v4(),
        entra_url: app.running.base_url().to_owned(),
        faults: Faults::default(),
        clock: Clock::manual(),
    };
    let acs = emulator::start(TcpListener::bind("127.0.0.1:0").unwrap(), config).await.unwrap();
    acs.refuse_unlicensed_users_of(Arc::new(app.issuer().clone()));
    let app_id = Uuid::new_v4();
    let exchange = async |user: &Value| {
        let oid = user["oid"].as_str().unwrap();
        let a1 = app.mint(json!({"tenantId": tenant, "oid": oid, "appId": app_id})).await;
        let body = json!({"token": a1, "appId": app_id, "userId": oid}).to_string();
        let path = "/teamsUser/:exchangeAccessToken?api-version=2023-10-01";
        let host = acs.endpoint().trim_start_matches("http://");
        let signed = signing::sign(
            &key,
            Method::POST.as_str(),
            path,
            host,
            body.as_bytes(),
            std::time::SystemTime::now(),
        );
        let response = crate::browser::browser()
            .post(format!("{}{path}", acs.endpoint()))
            .header("x-ms-date", signed.date)
            .header("x-ms-content-sha256", signed.content_sha256)
            .header("Authorization", signed.authorization)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };

    let (refused, error) = exchange(&unlicensed).await;
    let (served, _) = exchange(&licensed).await;

    assert_eq!(refused, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["code"], "UserLicenseNotPresentForbidden");
    assert_eq!(served, StatusCode::OK);
    acs.stop().await;
}
