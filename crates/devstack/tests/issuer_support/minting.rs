//! `POST /dev/tokens` and `DevIssuer::mint`: realistic tokens, overrides, deliberate forgeries and
//! input errors.

use devstack::issuer::{MintRequest, Signing, TokenVersion};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::issuer_support::{TestIssuer, decode_unverified, mint_body};

const ACS_AUDIENCE: &str = "https://auth.msft.communication.azure.com";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_minted_v1_token_verifies_against_the_v1_keys_and_carries_entras_v1_claims() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let body = mint_body(tenant, json!({}));

    let token = app.mint(body.clone()).await;

    let claims = app.verify(&token, &tenant.to_string(), false).await.unwrap();
    let (header, _) = decode_unverified(&token);
    let kid = app.issuer().published_kids()[0].clone();
    assert_eq!(header, json!({"typ": "JWT", "alg": "RS256", "kid": kid, "x5t": kid}));
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{tenant}/"));
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["aud"], ACS_AUDIENCE);
    assert_eq!(claims["tid"], tenant.to_string());
    assert_eq!(claims["oid"], body["oid"]);
    assert_eq!(claims["appid"], body["appId"]);
    assert_eq!(claims["appidacr"], "0");
    assert_eq!(claims["scp"], "Teams.ManageCalls Teams.ManageChats");
    assert_eq!(claims["idtyp"], "user");
    assert!(claims.contains_key("upn") && claims.contains_key("name"));
    assert!(!claims.contains_key("azp") && !claims.contains_key("roles"));
    assert_user_token_basics(&claims, 3600);
}

#[tokio::test]
async fn a_minted_v2_token_verifies_against_the_v2_keys_and_carries_entras_v2_claims() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let extra = json!({
        "version": "2.0",
        "scopes": ["Teams.ManageCalls"],
        "audience": "api://x",
        "lifetimeSeconds": 600,
    });
    let body = mint_body(tenant, extra);

    let token = app.mint(body.clone()).await;

    let claims = app.verify(&token, &tenant.to_string(), true).await.unwrap();
    let (header, _) = decode_unverified(&token);
    assert!(header.get("x5t").is_none(), "{header}");
    assert_eq!(claims["iss"], format!("https://login.microsoftonline.com/{tenant}/v2.0"));
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["aud"], "api://x");
    assert_eq!(claims["azp"], body["appId"]);
    assert_eq!(claims["azpacr"], "0");
    assert_eq!(claims["scp"], "Teams.ManageCalls");
    assert!(claims.contains_key("preferred_username") && claims.contains_key("name"));
    assert!(!claims.contains_key("appid") && !claims.contains_key("upn"));
    assert_user_token_basics(&claims, 600);
}

fn assert_user_token_basics(claims: &serde_json::Map<String, Value>, lifetime: i64) {
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - now()).abs() <= 5, "iat is now");
    assert_eq!(claims["nbf"].as_i64().unwrap(), iat - 300);
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + lifetime);
    assert_ne!(claims["sub"], claims["oid"], "sub is pairwise");
    assert_eq!(claims["sub"].as_str().unwrap().len(), 43);
    assert!(claims["uti"].as_str().unwrap().len() >= 16);
}

#[tokio::test]
async fn the_mint_function_makes_the_same_tokens_as_the_http_route() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let mut request =
        MintRequest::new(tenant.to_string(), Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    request.version = TokenVersion::V2;

    let token = app.issuer().mint(&request).unwrap();

    let claims = app.verify(&token, &tenant.to_string(), true).await.unwrap();
    assert_eq!(claims["azp"], request.app_id.as_str());
}

#[tokio::test]
async fn claim_and_header_overrides_set_and_remove_members() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let body = mint_body(
        tenant,
        json!({
            "claims": {"tid": "not-a-guid", "roles": ["Admin"], "scp": null, "idtyp": "app"},
            "header": {"jku": "https://evil.example/keys", "crit": ["exp"], "x5t": null, "alg": "HS256"},
        }),
    );

    let token = app.mint(body).await;

    let (header, claims) = decode_unverified(&token);
    assert_eq!(header["jku"], "https://evil.example/keys");
    assert_eq!(header["crit"], json!(["exp"]));
    assert_eq!(header["alg"], "HS256", "only the label changes");
    assert!(header.get("x5t").is_none());
    assert_eq!(claims["tid"], "not-a-guid");
    assert_eq!(claims["roles"], json!(["Admin"]));
    assert_eq!(claims["idtyp"], "app");
    assert!(claims.get("scp").is_none());
}

#[tokio::test]
async fn a_negative_lifetime_mints_a_correctly_signed_token_that_has_already_expired() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();

    let token = app.mint(mint_body(tenant, json!({"lifetimeSeconds": -120}))).await;

    let (_, claims) = decode_unverified(&token);
    let exp = claims["exp"].as_i64().unwrap();
    assert!((exp - (now() - 120)).abs() <= 5);
    assert!(claims["nbf"].as_i64().unwrap() < exp);
    let error = app.verify(&token, &tenant.to_string(), false).await.unwrap_err();
    assert!(error.contains("ExpiredSignature"), "{error}");
}

#[tokio::test]
async fn an_alg_none_token_has_an_empty_signature_and_does_not_verify() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();

    let token = app.mint(mint_body(tenant, json!({"signing": "none"}))).await;

    let (header, _) = decode_unverified(&token);
    assert_eq!(header["alg"], "none");
    assert!(token.ends_with('.'));
    assert!(app.verify(&token, &tenant.to_string(), false).await.is_err());
}

#[tokio::test]
async fn a_token_signed_with_an_unpublished_key_names_the_current_kid_and_does_not_verify() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let mut request =
        MintRequest::new(tenant.to_string(), Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    request.signing = Signing::UnknownKey;

    let token = app.mint(serde_json::to_value(&request).unwrap()).await;

    let (header, _) = decode_unverified(&token);
    assert_eq!(header["kid"], app.issuer().published_kids()[0].as_str());
    let error = app.verify(&token, &tenant.to_string(), false).await.unwrap_err();
    assert!(error.contains("InvalidSignature"), "{error}");
}

#[tokio::test]
async fn bad_mint_input_is_a_400_naming_the_field() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let cases = [
        (json!({"tenantId": "organizations"}), "tenantId"),
        (json!({"oid": "alice"}), "oid"),
        (json!({"appId": ""}), "appId"),
        (json!({"version": "3.0"}), "version"),
        (json!({"lifetimeSeconds": "soon"}), "lifetimeSeconds"),
        (json!({"lifetimeSeconds": i64::MAX}), "lifetimeSeconds"),
        (json!({"scopes": ["Teams.ManageCalls Teams.ManageChats"]}), "scopes"),
        (json!({"audience": " "}), "audience"),
        (json!({"signing": "weak"}), "signing"),
        (json!({"tenant": "x"}), "tenant"),
    ];

    for (extra, field) in cases {
        let (status, body) = app.post_json("/dev/tokens", &mint_body(tenant, extra)).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(body["error_description"].as_str().unwrap().contains(&format!("`{field}`")), "{body}");
    }

    let (status, body) = app.post_json("/dev/tokens", &json!({"tenantId": tenant, "appId": tenant})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error_description"].as_str().unwrap().contains("`oid`"), "{body}");
}
