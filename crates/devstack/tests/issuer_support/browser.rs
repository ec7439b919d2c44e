//! Helpers for the browser-flow tests: a client that never follows redirects (each hop is checked
//! by hand), a PKCE pair, state and nonce per flow, and test users.

use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::{StatusCode, header::LOCATION, redirect::Policy};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::issuer_support::TestIssuer;

/// The Teams permissions, fully qualified, plus OpenID Connect sign-in.
pub const TEAMS_SCOPES: &str = "openid profile offline_access \
    https://auth.msft.communication.azure.com/Teams.ManageCalls \
    https://auth.msft.communication.azure.com/Teams.ManageChats";
/// Where the client wants answers; nothing listens there, and nothing needs to.
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/onboarding/callback";

/// One client's authorization request: its ids, PKCE verifier, state and nonce.
pub struct Flow {
    pub client_id: Uuid,
    pub verifier: String,
    pub state: String,
    pub nonce: String,
}

impl Flow {
    pub fn fresh() -> Self {
        Self {
            client_id: Uuid::new_v4(),
            verifier: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
            state: Uuid::new_v4().to_string(),
            nonce: Uuid::new_v4().to_string(),
        }
    }

    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    /// `/{segment}/oauth2/v2.0/authorize?...` for `scope`, with `extra` parameters appended.
    pub fn authorize_path(&self, segment: &str, scope: &str, extra: &[(&str, &str)]) -> String {
        let challenge = self.challenge();
        let client_id = self.client_id.to_string();
        let mut pairs = vec![
            ("client_id", client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        format!("/{segment}/oauth2/v2.0/authorize?{}", encode(&pairs))
    }

    /// `/{segment}/v2.0/adminconsent?...` for the Teams permissions.
    pub fn admin_consent_path(&self, segment: &str) -> String {
        let client_id = self.client_id.to_string();
        let pairs = [
            ("client_id", client_id.as_str()),
            ("scope", "https://auth.msft.communication.azure.com/.default"),
            ("redirect_uri", REDIRECT_URI),
            ("state", &self.state),
        ];
        format!("/{segment}/v2.0/adminconsent?{}", encode(&pairs))
    }

    /// The token request redeeming `code` (a public client: no secret).
    pub fn token_form(&self, code: &str) -> Vec<(String, String)> {
        [
            ("grant_type", "authorization_code"),
            ("client_id", &self.client_id.to_string()),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &self.verifier),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// An HTTP client that hands back every redirect instead of following it.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

impl TestIssuer {
    /// `POST /dev/users`, expecting 201; returns the user.
    pub async fn add_user(&self, tenant: Uuid, name: &str, admin: bool, teams_licensed: bool) -> Value {
        let body = json!({"tenant": tenant, "name": name, "admin": admin, "teamsLicensed": teams_licensed});
        let (status, user) = self.post_json("/dev/users", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user
    }

    pub async fn browse(&self, path: &str) -> reqwest::Response {
        browser().get(self.url(path)).send().await.unwrap()
    }

    /// Posts a page's form (to the page's own URL, as its `action` says) without following redirects.
    pub async fn submit(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        browser().post(self.url(path)).form(form).send().await.unwrap()
    }

    /// Signs `user` in on the sign-in page of `path` and returns where it redirects to.
    pub async fn sign_in(&self, path: &str, user: &Value) -> Redirect {
        let page = self.browse(path).await;
        assert_eq!(page.status(), StatusCode::OK);
        let response = self.submit(path, &[("user", user["oid"].as_str().unwrap())]).await;
        Redirect::of(&response)
    }

    /// Redeems `form` at `/{segment}/oauth2/v2.0/token`.
    pub async fn redeem(&self, segment: &str, form: &[(String, String)]) -> (StatusCode, Value) {
        let response = browser()
            .post(self.url(&format!("/{segment}/oauth2/v2.0/token")))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }
}

/// A 302's target: the URL without its query, and the query's parameters.
#[derive(Debug)]
pub struct Redirect {
    pub to: String,
    pub params: HashMap<String, String>,
}

impl Redirect {
    pub fn of(response: &reqwest::Response) -> Self {
        assert_eq!(response.status(), StatusCode::FOUND, "expected a redirect");
        let location = response.headers().get(LOCATION).unwrap().to_str().unwrap();
        let mut to = url::Url::parse(location).unwrap();
        let params = to.query_pairs().into_owned().collect();
        to.set_query(None);
        Self { to: to.to_string(), params }
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or_else(|| panic!("no {name} in {self:?}"), String::as_str)
    }

    /// The AADSTS number at the start of `error_description`.
    pub fn aadsts(&self) -> &str {
        let description = self.param("error_description");
        description.strip_prefix("AADSTS").and_then(|rest| rest.split(':').next()).unwrap_or(description)
    }
}
