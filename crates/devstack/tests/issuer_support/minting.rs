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

    // Without an explicit audience, v2 `aud` is the API's client id (entra-validation.md §1.1).
    let token = app.mint(mint_body(tenant, json!({"version": "2.0"}))).await;
    let claims = app.verify(&token, &tenant.to_string(), true).await.unwrap();
    assert_eq!(claims["aud"], "1fd5118e-2576-4263-8130-9503064c837a");
    assert_eq!(claims["aud"], devstack::issuer::DEFAULT_V2_AUDIENCE);
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

#[tokio::test]
async fn a_weak_key_token_is_signed_by_a_published_1024_bit_key_under_its_own_kid() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();

    let token = app.mint(mint_body(tenant, json!({"signing": "weak-key"}))).await;

    let (header, _) = decode_unverified(&token);
    let kid = header["kid"].as_str().unwrap();
    assert!(!app.issuer().published_kids().iter().any(|k| k == kid), "not one of the real keys");
    for v2 in [false, true] {
        let jwk = published_jwk(&app, tenant, v2, kid).await;
        assert_eq!((jwk["kty"].as_str(), jwk["use"].as_str()), (Some("RSA"), Some("sig")));
        assert_eq!(modulus_bits(&jwk), 1024);
        verify_rs256(&token, &jwk).unwrap();
    }
    let again = app.mint(mint_body(tenant, json!({"signing": "weak-key"}))).await;
    assert_eq!(decode_unverified(&again).0["kid"], kid, "one weak key per issuer");
}

#[tokio::test]
async fn an_encryption_key_token_is_signed_by_a_key_published_for_encryption() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();

    let token = app.mint(mint_body(tenant, json!({"signing": "encryption-key"}))).await;

    let (header, _) = decode_unverified(&token);
    let kid = header["kid"].as_str().unwrap();
    assert_eq!(header["x5t"], kid);
    let jwk = published_jwk(&app, tenant, false, kid).await;
    assert_eq!(jwk["use"], "enc");
    assert_eq!(modulus_bits(&jwk), 2048);
    verify_rs256(&token, &jwk).unwrap();
    // The real signing key is still the first one published, and still signs ordinary tokens.
    let keys = app.key_set(&tenant.to_string(), false).await;
    assert_eq!(keys["keys"][0]["kid"], app.issuer().published_kids()[0].as_str());
}

#[tokio::test]
async fn a_tenant_key_token_is_signed_by_a_key_published_only_in_its_tenants_own_key_sets() {
    let app = TestIssuer::spawn().await;
    let (tenant, other) = (Uuid::new_v4(), Uuid::new_v4());

    let token = app.mint(mint_body(tenant, json!({"signing": "tenant-key"}))).await;

    let kid = decode_unverified(&token).0["kid"].as_str().unwrap().to_owned();
    assert!(!app.issuer().published_kids().contains(&kid), "not one of the shared keys");
    for v2 in [false, true] {
        let jwk = published_jwk(&app, tenant, v2, &kid).await;
        assert_eq!(modulus_bits(&jwk), 2048);
        verify_rs256(&token, &jwk).unwrap();
        for elsewhere in ["organizations".to_owned(), "common".to_owned(), other.to_string()] {
            let keys = app.key_set(&elsewhere, v2).await;
            let listed = keys["keys"].as_array().unwrap().iter().any(|jwk| jwk["kid"] == kid.as_str());
            assert!(!listed, "{kid} published under {elsewhere}: {keys}");
        }
    }
    let again = app.mint(mint_body(tenant, json!({"signing": "tenant-key"}))).await;
    assert_eq!(decode_unverified(&again).0["kid"], kid.as_str(), "one key per tenant");
    let others = app.mint(mint_body(other, json!({"signing": "tenant-key"}))).await;
    assert_ne!(decode_unverified(&others).0["kid"], kid.as_str(), "each tenant its own");
}

async fn published_jwk(app: &TestIssuer, tenant: Uuid, v2: bool, kid: &str) -> Value {
    let keys = app.key_set(&tenant.to_string(), v2).await;
    let found = keys["keys"].as_array().unwrap().iter().find(|jwk| jwk["kid"] == kid);
    found.unwrap_or_else(|| panic!("kid {kid} is not published: {keys}")).clone()
}

fn modulus_bits(jwk: &Value) -> usize {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    rsa::BigUint::from_bytes_be(&n).bits()
}

/// RS256 verification with the rsa crate, which (unlike `jsonwebtoken`'s ring) accepts short keys.
fn verify_rs256(token: &str, jwk: &Value) -> Result<(), rsa::signature::Error> {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use rsa::{pkcs1v15, signature::Verifier as _};
    let decode = |member: &str| URL_SAFE_NO_PAD.decode(jwk[member].as_str().unwrap()).unwrap();
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&decode("n")),
        rsa::BigUint::from_bytes_be(&decode("e")),
    )
    .unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(signature).unwrap().as_slice())?;
    pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public).verify(input.as_bytes(), &signature)
}
