//! The authorization-code flow with PKCE, followed by hand: the sign-in page, the code redirect,
//! the token endpoint, `prompt=none`, and the ways a redemption fails.

use std::time::Duration;

use devstack::{emulator::Clock, issuer::CODE_LIFETIME};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    browser::{Flow, REDIRECT_URI, Redirect, TEAMS_SCOPES},
    issuer_support::{TestIssuer, decode_unverified},
};

/// A tenant with one licensed non-admin user, whose admin already consented to `flow`'s client.
async fn consented_tenant(app: &TestIssuer, flow: &Flow) -> (Uuid, Value) {
    let tenant = Uuid::new_v4();
    let user = app.add_user(tenant, "Megan Bowen", false, true).await;
    let (status, _) =
        app.post_json("/dev/consents", &json!({"tenant": tenant, "clientId": flow.client_id})).await;
    assert_eq!(status, StatusCode::CREATED);
    (tenant, user)
}

/// Signs `user` in for the Teams permissions and returns the code.
async fn code_for(app: &TestIssuer, flow: &Flow, tenant: Uuid, user: &Value) -> String {
    let redirect = app.sign_in(&flow.authorize_path(&tenant.to_string(), TEAMS_SCOPES, &[]), user).await;
    assert_eq!(redirect.param("state"), flow.state);
    redirect.param("code").to_owned()
}

#[tokio::test]
async fn a_user_signs_in_with_pkce_and_redeems_the_code_for_an_id_token_and_a_teams_access_token() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;

    let redirect = app.sign_in(&flow.authorize_path("organizations", TEAMS_SCOPES, &[]), &user).await;
    assert_eq!(redirect.to, REDIRECT_URI);
    assert_eq!(redirect.param("state"), flow.state);
    let (status, tokens) = app.redeem("organizations", &flow.token_form(redirect.param("code"))).await;

    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3599);
    let scope = tokens["scope"].as_str().unwrap();
    assert!(scope.starts_with("https://auth.msft.communication.azure.com/Teams.ManageCalls "), "{scope}");
    let id = app.verify(tokens["id_token"].as_str().unwrap(), &tenant.to_string(), true).await.unwrap();
    assert_eq!(id["iss"], format!("https://login.microsoftonline.com/{tenant}/v2.0"));
    assert_eq!(id["aud"], flow.client_id.to_string());
    assert_eq!(id["nonce"], flow.nonce);
    assert_eq!((&id["tid"], &id["oid"], &id["name"]), (&json!(tenant), &user["oid"], &json!("Megan Bowen")));
    assert_eq!(id["preferred_username"], user["username"]);
    let access =
        app.verify(tokens["access_token"].as_str().unwrap(), &tenant.to_string(), false).await.unwrap();
    assert_eq!(access["aud"], "https://auth.msft.communication.azure.com");
    assert_eq!(access["scp"], "Teams.ManageCalls Teams.ManageChats");
    assert_eq!((&access["appid"], &access["oid"]), (&json!(flow.client_id), &user["oid"]));
    assert_eq!(access["iss"], format!("https://sts.windows.net/{tenant}/"));
}

#[tokio::test]
async fn the_sign_in_page_lists_the_tenants_users_escaped_under_a_strict_content_security_policy() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    app.add_user(tenant, "<script>alert(1)</script>", true, false).await;
    app.add_user(Uuid::new_v4(), "Someone Elsewhere", false, true).await;

    let page = app.browse(&flow.authorize_path(&tenant.to_string(), TEAMS_SCOPES, &[])).await;

    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"), "{policy}");
    assert!(policy.contains("form-action 'self' http://127.0.0.1:9;"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>") && !html.contains("Someone Elsewhere"), "{html}");
    assert!(html.contains("(administrator, no Teams licence)"), "{html}");
    assert!(html.contains("<form method=\"post\""), "{html}");
}

#[tokio::test]
async fn prompt_none_with_a_login_hint_answers_a_code_without_a_page_once_the_tenant_consented() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;
    let hint = user["username"].as_str().unwrap();

    let path =
        flow.authorize_path(&tenant.to_string(), TEAMS_SCOPES, &[("prompt", "none"), ("login_hint", hint)]);
    let redirect = Redirect::of(&app.browse(&path).await);

    assert_eq!(redirect.param("state"), flow.state);
    let (status, tokens) = app.redeem(&tenant.to_string(), &flow.token_form(redirect.param("code"))).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn prompt_none_without_consent_redirects_with_consent_required_and_aadsts65001() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let user = app.add_user(tenant, "Adele Vance", true, true).await;
    let hint = user["username"].as_str().unwrap();

    let path =
        flow.authorize_path("organizations", TEAMS_SCOPES, &[("prompt", "none"), ("login_hint", hint)]);
    let redirect = Redirect::of(&app.browse(&path).await);

    assert_eq!(redirect.param("error"), "consent_required");
    assert_eq!(redirect.aadsts(), "65001");
    assert_eq!(redirect.param("state"), flow.state);
    assert!(!redirect.params.contains_key("code"));
}

#[tokio::test]
async fn prompt_none_uses_the_session_of_an_earlier_sign_in_and_without_one_is_login_required() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;
    let silent = flow.authorize_path(&tenant.to_string(), TEAMS_SCOPES, &[("prompt", "none")]);

    let without = Redirect::of(&app.browse(&silent).await);
    let interactive = flow.authorize_path(&tenant.to_string(), TEAMS_SCOPES, &[]);
    let signed_in = app.submit(&interactive, &[("user", user["oid"].as_str().unwrap())]).await;
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let with = crate::browser::browser().get(app.url(&silent)).header("cookie", cookie).send().await.unwrap();

    assert_eq!((without.param("error"), without.aadsts()), ("login_required", "50058"));
    assert!(Redirect::of(&with).params.contains_key("code"));
}

#[tokio::test]
async fn a_code_redeems_once_and_a_second_use_is_invalid_grant_aadsts54005() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;
    let form = flow.token_form(&code_for(&app, &flow, tenant, &user).await);

    let (first, _) = app.redeem("organizations", &form).await;
    let (second, error) = app.redeem("organizations", &form).await;

    assert_eq!(first, StatusCode::OK);
    assert_eq!(second, StatusCode::BAD_REQUEST);
    assert_eq!((&error["error"], &error["error_codes"]), (&json!("invalid_grant"), &json!([54005])));
    for member in ["error_description", "timestamp", "trace_id", "correlation_id"] {
        assert!(error[member].is_string(), "{member} in {error}");
    }
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant_aadsts501481() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;
    let mut form = flow.token_form(&code_for(&app, &flow, tenant, &user).await);
    form[4].1 = Flow::fresh().verifier;

    let (status, error) = app.redeem("organizations", &form).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((&error["error"], &error["error_codes"]), (&json!("invalid_grant"), &json!([501481])));
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorization_requests_is_invalid_grant() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;
    let mut form = flow.token_form(&code_for(&app, &flow, tenant, &user).await);
    form[3].1 = "http://127.0.0.1:9/elsewhere".to_owned();

    let (status, error) = app.redeem("organizations", &form).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((&error["error"], &error["error_codes"]), (&json!("invalid_grant"), &json!([500112])));
}

#[tokio::test]
async fn a_code_older_than_its_lifetime_is_invalid_grant_aadsts70008() {
    let clock = Clock::manual();
    let app = TestIssuer::spawn_with_clock(clock).await;
    let flow = Flow::fresh();
    let (tenant, user) = consented_tenant(&app, &flow).await;
    let form = flow.token_form(&code_for(&app, &flow, tenant, &user).await);

    clock.advance(CODE_LIFETIME + Duration::from_secs(1));
    let (status, error) = app.redeem("organizations", &form).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((&error["error"], &error["error_codes"]), (&json!("invalid_grant"), &json!([70008])));
}

#[tokio::test]
async fn a_registered_client_must_send_its_secret_and_a_public_client_must_send_none() {
    let app = TestIssuer::spawn().await;
    let (confidential, public) = (Flow::fresh(), Flow::fresh());
    let (tenant, user) = consented_tenant(&app, &confidential).await;
    let registration =
        json!({"tenant": Uuid::new_v4(), "clientId": confidential.client_id, "clientSecret": "s3cret"});
    assert_eq!(app.post_json("/dev/clients", &registration).await.0, StatusCode::CREATED);
    let with_secret = |flow: &Flow, code: &str, secret: &str| {
        let mut form = flow.token_form(code);
        form.push(("client_secret".to_owned(), secret.to_owned()));
        form
    };

    let missing = app
        .redeem(
            "organizations",
            &confidential.token_form(&code_for(&app, &confidential, tenant, &user).await),
        )
        .await;
    let wrong = app
        .redeem(
            "organizations",
            &with_secret(&confidential, &code_for(&app, &confidential, tenant, &user).await, "nope"),
        )
        .await;
    let right = app
        .redeem(
            "organizations",
            &with_secret(&confidential, &code_for(&app, &confidential, tenant, &user).await, "s3cret"),
        )
        .await;
    let basic = crate::browser::browser()
        .post(app.url("/organizations/oauth2/v2.0/token"))
        .basic_auth(confidential.client_id, Some("s3cret"))
        .form(&confidential.token_form(&code_for(&app, &confidential, tenant, &user).await))
        .send()
        .await
        .unwrap();
    app.post_json("/dev/consents", &json!({"tenant": tenant, "clientId": public.client_id})).await;
    let public_with_secret = app
        .redeem("organizations", &with_secret(&public, &code_for(&app, &public, tenant, &user).await, "x"))
        .await;

    assert_eq!((missing.0, &missing.1["error_codes"]), (StatusCode::UNAUTHORIZED, &json!([7000218])));
    assert_eq!((wrong.0, &wrong.1["error_codes"]), (StatusCode::UNAUTHORIZED, &json!([7000215])));
    assert_eq!(right.0, StatusCode::OK, "{}", right.1);
    assert_eq!(basic.status(), StatusCode::OK, "client_secret_basic works too");
    assert_eq!(
        (public_with_secret.0, &public_with_secret.1["error_codes"]),
        (StatusCode::BAD_REQUEST, &json!([90023]))
    );
}

#[tokio::test]
async fn plain_pkce_is_refused_by_redirect_and_a_bad_redirect_uri_by_a_page() {
    let app = TestIssuer::spawn().await;
    let flow = Flow::fresh();

    let plain =
        flow.authorize_path("organizations", TEAMS_SCOPES, &[]).replace("method=S256", "method=plain");
    let refused = Redirect::of(&app.browse(&plain).await);
    let bad_target =
        flow.authorize_path("organizations", TEAMS_SCOPES, &[]).replace("http%3A%2F%2F127", "127");
    let page = app.browse(&bad_target).await;

    assert_eq!((refused.param("error"), refused.param("state")), ("invalid_request", flow.state.as_str()));
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());
    assert!(page.text().await.unwrap().contains("AADSTS90102"));
}

#[tokio::test]
async fn sign_in_alone_needs_no_consent_and_gets_a_graph_token_without_teams_scopes() {
    let app = TestIssuer::spawn().await;
    let (flow, tenant) = (Flow::fresh(), Uuid::new_v4());
    let user = app.add_user(tenant, "Lee Gu", false, true).await;

    let redirect = app.sign_in(&flow.authorize_path("organizations", "openid profile", &[]), &user).await;
    let (status, tokens) = app.redeem("organizations", &flow.token_form(redirect.param("code"))).await;

    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, access) = decode_unverified(tokens["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "00000003-0000-0000-c000-000000000000");
    assert!(!access["scp"].as_str().unwrap().contains("Teams"));
    assert!(tokens["id_token"].is_string());
}
