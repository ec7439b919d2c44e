//! Rules of the token itself: the check order of section 1.5, v1/v2 app claims never mixed whoever
//! calls, and guest accounts refused.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

#[allow(dead_code, reason = "each test binary uses part of the shared wiremock Entra")]
mod support;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entra::{ACS_AUDIENCES, Authority, Expectations, Rejection, TEAMS_SCOPES, TokenVersion};
use serde_json::{Value, json};
use support::{APP, Idp, OTHER_TENANT, TENANT, TestKey, check, v1_claims, v2_claims, with};

/// What the B-policy `entra` path asks: no user, no app.
fn unbound() -> Expectations<'static> {
    Expectations {
        authority: Authority::Tenant(TENANT),
        audiences: ACS_AUDIENCES,
        required_scopes: TEAMS_SCOPES,
        user: None,
        app: None,
    }
}

fn segment(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

#[tokio::test]
async fn a_token_bad_in_both_header_and_structure_is_refused_for_its_structure() {
    let idp = Idp::start(&[&TestKey::generate("k1", 2048)]).await;
    let validator = idp.validator();
    let none = segment(&json!({"alg": "none", "kid": "k1"}));
    let claims = segment(&v1_claims(TENANT));
    let signature = URL_SAFE_NO_PAD.encode([7u8; 256]);
    let duplicate = URL_SAFE_NO_PAD.encode(br#"{"oid":"a","oid":"b"}"#);
    for (token, expected) in [
        (format!("{none}.{claims}=.{signature}"), "not canonical base64url"),
        (format!("{none}.{claims}.{signature}="), "not canonical base64url"),
        (format!("{none}.e31.{signature}"), "not canonical base64url"),
        (format!("{none}.{duplicate}.{signature}"), "a claim appears twice"),
        (format!("{none}.{}.{signature}", URL_SAFE_NO_PAD.encode("[]")), "not a JSON object"),
    ] {
        assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::Malformed(expected), "{token}");
    }
    // Well formed, the same header is refused for its algorithm.
    let token = format!("{none}.{claims}.{signature}");
    assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::Algorithm);
    assert!(idp.server.received_requests().await.unwrap().is_empty(), "refused before any fetch");
}

#[tokio::test]
async fn a_v1_token_carrying_azp_is_refused_even_when_no_app_is_expected() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let good = validator.validate(&key.sign(&v1_claims(TENANT)), &unbound()).await.unwrap();
    assert_eq!((good.version, good.app_id), (TokenVersion::V1, Some(APP)));
    let mixed = key.sign(&with(v1_claims(TENANT), &json!({"azp": APP.to_string()})));
    assert_eq!(validator.validate(&mixed, &unbound()).await.unwrap_err(), Rejection::Version);
    let azp_only = key.sign(&with(v1_claims(TENANT), &json!({"appid": null, "azp": APP.to_string()})));
    assert_eq!(validator.validate(&azp_only, &unbound()).await.unwrap_err(), Rejection::Version);
}

#[tokio::test]
async fn a_v2_token_carrying_appid_is_refused_even_when_no_app_is_expected() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let good = validator.validate(&key.sign(&v2_claims(TENANT)), &unbound()).await.unwrap();
    assert_eq!((good.version, good.app_id), (TokenVersion::V2, Some(APP)));
    let mixed = key.sign(&with(v2_claims(TENANT), &json!({"appid": APP.to_string()})));
    assert_eq!(validator.validate(&mixed, &unbound()).await.unwrap_err(), Rejection::Version);
    let appid_only = key.sign(&with(v2_claims(TENANT), &json!({"azp": null, "appid": APP.to_string()})));
    assert_eq!(validator.validate(&appid_only, &unbound()).await.unwrap_err(), Rejection::Version);
}

#[tokio::test]
async fn guest_accounts_are_refused_as_a_tenant_not_allowed_without_echoing_the_idp() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let home_tenant = format!("https://sts.windows.net/{OTHER_TENANT}/");
    for guest_idp in [home_tenant.as_str(), "live.com"] {
        for claims in [v1_claims(TENANT), v2_claims(TENANT)] {
            let token = key.sign(&with(claims, &json!({"idp": guest_idp})));
            let error = check(&validator, &token).await.unwrap_err();
            assert_eq!(error, Rejection::GuestAccount, "{guest_idp}");
            assert_eq!(error.code(), "tenant_not_allowed");
            assert_eq!(error.to_string(), "guest accounts are not accepted");
            let error = validator.validate(&token, &unbound()).await.unwrap_err();
            assert_eq!(error, Rejection::GuestAccount, "whoever calls");
        }
    }
}

#[tokio::test]
async fn a_member_token_without_idp_is_accepted() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    for claims in [v1_claims(TENANT), v2_claims(TENANT)] {
        assert!(!claims.as_object().unwrap().contains_key("idp"));
        check(&validator, &key.sign(&claims)).await.unwrap();
    }
}

#[tokio::test]
async fn a_token_whose_idp_is_its_own_issuer_is_accepted() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    for claims in [v1_claims(TENANT), v2_claims(TENANT)] {
        let issuer = claims["iss"].clone();
        check(&validator, &key.sign(&with(claims, &json!({"idp": issuer})))).await.unwrap();
    }
    let odd = key.sign(&with(v1_claims(TENANT), &json!({"idp": ["live.com"]})));
    assert_eq!(check(&validator, &odd).await.unwrap_err(), Rejection::BadClaim("idp"));
}

#[tokio::test]
async fn an_app_only_token_carrying_idp_is_still_refused_as_app_only() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    // Entra's v2 app-only tokens name the v1 issuer as `idp`.
    let changes = json!({"idtyp": "app", "idp": format!("https://sts.windows.net/{TENANT}/")});
    let token = key.sign(&with(v2_claims(TENANT), &changes));
    assert_eq!(check(&idp.validator(), &token).await.unwrap_err(), Rejection::AppOnly);
}
