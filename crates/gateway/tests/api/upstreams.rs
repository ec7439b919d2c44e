//! The devstack's dev Entra issuer and ACS emulator, in-process on real sockets, and a gateway that
//! uses them.

use devstack::{
    emulator::{self, Clock, EmulatorConfig, Faults, RunningEmulator},
    issuer::{DevIssuer, MintRequest, RunningIssuer, TokenVersion},
};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{APP_ID, ENTRA_TENANT, TestApp, fresh_database, spawn_app_on, unique_slug};

pub const USER_ID: &str = "d3e0d3e0-0000-4000-8000-00000000ace1";

pub struct Upstreams {
    pub issuer: RunningIssuer,
    pub acs: RunningEmulator,
}

fn listener() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

pub async fn upstreams() -> Upstreams {
    let issuer = DevIssuer::new().unwrap().start(listener()).await.unwrap();
    let config = EmulatorConfig {
        access_key: (0u8..32).collect(),
        resource_id: uuid::Uuid::new_v4(),
        entra_url: issuer.base_url().to_owned(),
        faults: Faults::default(),
        // Stands still: a test that needs the emulator's key refetch cool-down over moves it.
        clock: Clock::manual(),
    };
    let acs = emulator::start(listener(), config).await.unwrap();
    Upstreams { issuer, acs }
}

/// A gateway wired to fresh upstreams, with an admin key; `overrides` are extra settings.
pub async fn spawn_exchange_app(overrides: &[(&str, &str)]) -> (TestApp, Upstreams) {
    let up = upstreams().await;
    let database = fresh_database().await;
    let mut settings = vec![
        ("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url()),
        ("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "0"),
    ];
    settings.extend_from_slice(overrides);
    let app = spawn_app_on(&database, &settings).await.with_admin_key("test-operator").await;
    (app, up)
}

impl Upstreams {
    /// A good v1 A1 for the test user and app.
    pub fn a1(&self) -> String {
        self.mint(&MintRequest::new(ENTRA_TENANT, USER_ID, APP_ID))
    }

    pub fn a1_v2(&self) -> String {
        self.mint(&MintRequest {
            version: TokenVersion::V2,
            ..MintRequest::new(ENTRA_TENANT, USER_ID, APP_ID)
        })
    }

    pub fn mint(&self, request: &MintRequest) -> String {
        self.issuer.issuer().mint(request).unwrap()
    }

    /// A1 with claim changes (`null` removes).
    pub fn a1_with(&self, claims: Value) -> String {
        let mut request = MintRequest::new(ENTRA_TENANT, USER_ID, APP_ID);
        let Value::Object(claims) = claims else { panic!("claims must be an object") };
        request.claims = claims;
        self.mint(&request)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.acs.set_faults(faults);
    }

    pub fn acs_exchanges(&self) -> u64 {
        self.acs.stats().exchange_attempts
    }
}

/// A tenant body pointing at the emulator, authority `tenant`, policy `none`.
pub fn exchange_tenant_body(slug: &str, up: &Upstreams) -> Value {
    json!({
        "slug": slug,
        "displayName": "Exchange test tenant",
        "entra": {"authority": "tenant", "tenantId": ENTRA_TENANT, "allowedAppIds": [APP_ID]},
        "acs": {"connectionString": up.acs.connection_string()},
        "authorization": {"type": "none"},
        "limits": {"exchangesPerSecond": 1000, "burst": 1000}
    })
}

impl TestApp {
    /// Creates a tenant for exchanges; `change` is merged into the default body.
    pub async fn create_exchange_tenant(&self, up: &Upstreams, change: &Value) -> String {
        let slug = unique_slug();
        let mut body = exchange_tenant_body(&slug, up);
        json_patch::merge(&mut body, change);
        let mut changes = self.tenant_cache.subscribe();
        let response = self.create_tenant_with(&body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        // The creation's notice heard first, so that no test races it (it would drop a record an
        // exchange had just loaded, or count as an invalidation).
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, changes.recv()).await {
                Ok(Ok(change)) if change.slug.as_str() == slug => break,
                Ok(Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(closed)) => panic!("the tenant cache closed: {closed}"),
                Err(_) => panic!("the creation of {slug} was never announced"),
            }
        }
        slug
    }

    pub async fn exchange(&self, slug: &str, a1: &str, bearer: Option<&str>) -> Response {
        self.exchange_as(slug, a1, APP_ID, USER_ID, bearer).await
    }

    pub async fn exchange_as(
        &self,
        slug: &str,
        a1: &str,
        app: &str,
        user: &str,
        bearer: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(&format!("/v1/tenants/{slug}/token/teams")))
            .json(&json!({"token": a1, "appId": app, "userId": user}));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send().await.unwrap()
    }
}
