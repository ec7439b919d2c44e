//! The client-credentials grant on `/{tenant}/oauth2/v2.0/token` (and v1 `/oauth2/token`).

use devstack::issuer::DevIssuer;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::issuer_support::TestIssuer;

const SCOPE: &str = "https://communication.azure.com//.default";
const SECRET: &str = "dev~secret.value";

struct Registered {
    app: TestIssuer,
    tenant: Uuid,
    client: Uuid,
}

impl Registered {
    async fn spawn() -> Self {
        let app = TestIssuer::spawn().await;
        let (tenant, client) = (Uuid::new_v4(), Uuid::new_v4());
        app.issuer().register_client(tenant, client, SECRET);
        Self { app, tenant, client }
    }

    async fn request(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.app.post_form(&format!("/{tenant}/oauth2/v2.0/token"), form).await
    }

    fn form<'a>(&'a self, client: &'a str, secret: &'a str) -> [(&'a str, &'a str); 4] {
        [
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", SCOPE),
        ]
    }
}

#[tokio::test]
async fn a_registered_client_gets_an_app_only_v1_token_for_the_scopes_resource() {
    let it = Registered::spawn().await;
    let client = it.client.to_string();

    let (status, body) = it.request(&it.tenant.to_string(), &it.form(&client, SECRET)).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    let claims = it.app.verify(token, &it.tenant.to_string(), false).await.unwrap();
    let principal = DevIssuer::service_principal_id(it.tenant, it.client).to_string();
    assert_eq!(claims["aud"], "https://communication.azure.com/");
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{}/", it.tenant));
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["appid"], client);
    assert_eq!(claims["tid"], it.tenant.to_string());
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["oid"], principal);
    assert_ne!(principal, client);
    assert!(!claims.contains_key("scp") && !claims.contains_key("roles"));
}

#[tokio::test]
async fn the_v1_endpoint_takes_a_resource_and_answers_in_the_v1_shape() {
    let it = Registered::spawn().await;
    let client = it.client.to_string();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.as_str()),
        ("client_secret", SECRET),
        ("resource", "https://communication.azure.com/"),
    ];

    let (status, body) = it.app.post_form(&format!("/{}/oauth2/token", it.tenant), &form).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], "3599");
    assert_eq!(body["resource"], "https://communication.azure.com/");
    let claims = it.app.verify(body["access_token"].as_str().unwrap(), &it.tenant.to_string(), false).await;
    assert_eq!(claims.unwrap()["aud"], "https://communication.azure.com/");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_401() {
    let it = Registered::spawn().await;
    let client = it.client.to_string();

    let (status, body) = it.request(&it.tenant.to_string(), &it.form(&client, "guess")).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."), "{description}");
    assert!(!description.contains("guess") && !description.contains(SECRET));
}

#[tokio::test]
async fn a_client_unknown_in_the_tenant_is_unauthorized_client_400() {
    let it = Registered::spawn().await;
    let stranger = Uuid::new_v4().to_string();
    let client = it.client.to_string();

    let (unknown, unknown_body) = it.request(&it.tenant.to_string(), &it.form(&stranger, SECRET)).await;
    let (elsewhere, _) = it.request(&Uuid::new_v4().to_string(), &it.form(&client, SECRET)).await;

    assert_eq!(unknown, StatusCode::BAD_REQUEST);
    assert_eq!(unknown_body["error"], "unauthorized_client");
    assert_eq!(unknown_body["error_codes"], serde_json::json!([700016]));
    assert_eq!(elsewhere, StatusCode::BAD_REQUEST, "clients are registered per tenant");
}

#[tokio::test]
async fn another_grant_type_is_unsupported_grant_type() {
    let it = Registered::spawn().await;
    let client = it.client.to_string();
    let mut form = it.form(&client, SECRET);
    form[0] = ("grant_type", "password");

    let (status, body) = it.request(&it.tenant.to_string(), &form).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS70003: "));
}

#[tokio::test]
async fn organizations_and_common_cannot_issue_client_credentials_tokens() {
    let it = Registered::spawn().await;
    let client = it.client.to_string();

    for alias in ["organizations", "common"] {
        let (status, body) = it.request(alias, &it.form(&client, SECRET)).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{alias}");
        assert_eq!(body["error_codes"], serde_json::json!([50059]), "{body}");
    }
}

#[tokio::test]
async fn a_scope_without_the_default_suffix_is_invalid_scope() {
    let it = Registered::spawn().await;
    let client = it.client.to_string();
    let mut form = it.form(&client, SECRET);
    form[3] = ("scope", "https://communication.azure.com/Teams.ManageCalls");

    let (status, body) = it.request(&it.tenant.to_string(), &form).await;

    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
}
