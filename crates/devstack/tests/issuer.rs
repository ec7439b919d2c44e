//! The dev Entra issuer over real HTTP: metadata and key sets here; minting, rotation, the
//! client-credentials grant, the browser flows (authorization code with PKCE, admin consent) and
//! routing in the modules below.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on any unexpected error"
)]

#[path = "issuer_support/admin_consent.rs"]
mod admin_consent;
#[path = "issuer_support/authorization_code.rs"]
mod authorization_code;
#[path = "issuer_support/browser.rs"]
mod browser;
#[path = "issuer_support/client_credentials.rs"]
mod client_credentials;
mod issuer_support;
#[path = "issuer_support/minting.rs"]
mod minting;
#[path = "issuer_support/rotation.rs"]
mod rotation;
#[path = "emulator_support/signing.rs"]
mod signing;

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use issuer_support::TestIssuer;
use reqwest::StatusCode;
use rsa::{BigUint, RsaPublicKey, pkcs8::EncodePublicKey as _};
use sha1::{Digest as _, Sha1};
use uuid::Uuid;

#[tokio::test]
async fn v1_metadata_for_a_tenant_names_the_sts_windows_net_issuer_and_local_endpoints() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();

    let (status, document) = app.get(&format!("/{tenant}/.well-known/openid-configuration")).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["issuer"], format!("https://sts.windows.net/{tenant}/"));
    assert_eq!(document["jwks_uri"], app.url(&format!("/{tenant}/discovery/keys")));
    assert_eq!(document["token_endpoint"], app.url(&format!("/{tenant}/oauth2/token")));
    assert_eq!(document["authorization_endpoint"], app.url(&format!("/{tenant}/oauth2/authorize")));
    assert_eq!(document["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
}

#[tokio::test]
async fn v2_metadata_for_a_tenant_names_the_login_microsoftonline_issuer_and_local_endpoints() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();

    let (status, document) = app.get(&format!("/{tenant}/v2.0/.well-known/openid-configuration")).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["issuer"], format!("https://login.microsoftonline.com/{tenant}/v2.0"));
    assert_eq!(document["jwks_uri"], app.url(&format!("/{tenant}/discovery/v2.0/keys")));
    assert_eq!(document["token_endpoint"], app.url(&format!("/{tenant}/oauth2/v2.0/token")));
}

#[tokio::test]
async fn metadata_for_organizations_and_common_uses_the_tenantid_template() {
    let app = TestIssuer::spawn().await;

    for alias in ["organizations", "common"] {
        let (_, v1) = app.get(&format!("/{alias}/.well-known/openid-configuration")).await;
        let (_, v2) = app.get(&format!("/{alias}/v2.0/.well-known/openid-configuration")).await;

        assert_eq!(v1["issuer"], "https://sts.windows.net/{tenantid}/");
        assert_eq!(v1["jwks_uri"], app.url(&format!("/{alias}/discovery/keys")));
        assert_eq!(v2["issuer"], "https://login.microsoftonline.com/{tenantid}/v2.0");
        assert_eq!(v2["jwks_uri"], app.url(&format!("/{alias}/discovery/v2.0/keys")));
    }
}

#[tokio::test]
async fn a_tenant_that_is_neither_a_guid_nor_an_alias_is_a_400_in_entras_error_shape() {
    let app = TestIssuer::spawn().await;

    for path in ["/contoso.onmicrosoft.com/.well-known/openid-configuration", "/consumers/discovery/keys"] {
        let (status, body) = app.get(path).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["error"], "invalid_tenant");
        assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS90002: "), "{body}");
        assert_eq!(body["error_codes"], serde_json::json!([90002]));
    }
}

#[tokio::test]
async fn key_sets_publish_rsa_signature_keys_without_alg_and_only_v2_keys_name_an_issuer() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4().to_string();

    let v1 = app.key_set(&tenant, false).await;
    let v2 = app.key_set(&tenant, true).await;
    let organizations = app.key_set("organizations", true).await;

    let key = &v1["keys"][0];
    assert_eq!(v1["keys"].as_array().unwrap().len(), 1);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    assert_eq!(URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap().len(), 256);
    assert_eq!(key["x5t"], key["kid"]);
    assert!(key.get("alg").is_none() && key.get("issuer").is_none(), "{key}");
    assert_eq!(v2["keys"][0]["kid"], key["kid"]);
    assert!(v2["keys"][0].get("alg").is_none());
    assert_eq!(v2["keys"][0]["issuer"], format!("https://login.microsoftonline.com/{tenant}/v2.0"));
    assert_eq!(organizations["keys"][0]["issuer"], "https://login.microsoftonline.com/{tenantid}/v2.0");
}

#[tokio::test]
async fn the_x5c_certificate_holds_the_published_key_and_its_sha1_thumbprint_is_the_kid() {
    let app = TestIssuer::spawn().await;

    let key = &app.key_set("common", false).await["keys"][0];
    let certificate = STANDARD.decode(key["x5c"][0].as_str().unwrap()).unwrap();
    let modulus = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let exponent = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let public_key = RsaPublicKey::new(BigUint::from_bytes_be(&modulus), BigUint::from_bytes_be(&exponent))
        .unwrap()
        .to_public_key_der()
        .unwrap();

    assert_eq!(certificate[0], 0x30, "a DER SEQUENCE");
    assert!(certificate.windows(public_key.as_bytes().len()).any(|w| w == public_key.as_bytes()));
    assert_eq!(key["kid"], URL_SAFE_NO_PAD.encode(Sha1::digest(&certificate)));
}

#[tokio::test]
async fn every_key_set_served_is_counted_and_metadata_documents_are_not() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4().to_string();
    assert_eq!(app.running.key_set_fetches(), 0);

    app.get(&format!("/{tenant}/.well-known/openid-configuration")).await;
    app.key_set(&tenant, false).await;
    app.key_set(&tenant, true).await;
    app.key_set("organizations", true).await;

    assert_eq!(app.running.key_set_fetches(), 3);
}

#[tokio::test]
async fn every_metadata_document_served_is_counted_and_key_sets_are_not() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4().to_string();
    assert_eq!(app.running.metadata_fetches(), 0);

    app.get(&format!("/{tenant}/.well-known/openid-configuration")).await;
    app.get("/organizations/v2.0/.well-known/openid-configuration").await;
    app.key_set(&tenant, false).await;
    app.get("/contoso.onmicrosoft.com/.well-known/openid-configuration").await;

    assert_eq!(app.running.metadata_fetches(), 2, "served documents only");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json_errors() {
    let app = TestIssuer::spawn().await;

    let (not_found, body) = app.get("/nothing/here").await;
    assert_eq!(not_found, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");

    let (wrong_method, body) = app.get("/dev/tokens").await;
    assert_eq!(wrong_method, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"], "method_not_allowed");
}

#[tokio::test]
async fn a_stopped_issuer_no_longer_answers() {
    let app = TestIssuer::spawn().await;
    let url = app.url("/common/discovery/keys");

    app.running.stop().await;

    assert!(crate::issuer_support::http_client().get(url).send().await.is_err());
}
