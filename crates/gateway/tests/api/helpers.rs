use std::{sync::Arc, time::Duration};

use gateway::{
    Application,
    settings::{Settings, Source},
};
use local_pg::{PostgresServer, TempCluster};
use registry::cache::TenantCache;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;

pub const KEYRING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The ACS access key of the test tenants (base64 of bytes 0x00..0x1f).
pub const ACCESS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const ENTRA_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const WEBHOOK_SECRET: &str = "webhook-secret-that-is-long-enough-0123456789";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_key: String,
    pub database_url: String,
    pub pool: PgPool,
    pub tenant_cache: TenantCache,
    pub metrics_port: Option<u16>,
    handle: actix_web::dev::ServerHandle,
    stopped: Arc<tokio::sync::Notify>,
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        // Installed once for the whole test binary, kept until it exits.
        std::mem::forget(gateway::telemetry::init(gateway::settings::LogFormat::Pretty));
    }
}

/// A gateway on a fresh, migrated database, with an admin key.
pub async fn spawn_app() -> TestApp {
    let database_url = fresh_database().await;
    spawn_app_on(&database_url, &[]).await.with_admin_key("test-operator").await
}

pub async fn fresh_database() -> String {
    init_logs();
    migrated_database(PostgresServer::for_tests().await.unwrap()).await
}

/// A cluster of the test's own, for tests that stop, hang or restart Postgres (killed when dropped),
/// and the URL of a fresh, migrated database on it.
pub async fn private_postgres() -> (TempCluster, String) {
    let cluster = TempCluster::start().await.unwrap();
    let url = migrated_database(cluster.server()).await;
    (cluster, url)
}

async fn migrated_database(server: &PostgresServer) -> String {
    let url = server.create_database().await.unwrap();
    let pool = PgPool::connect(&url).await.unwrap();
    registry::migrate::run(&pool).await.unwrap();
    pool.close().await;
    url
}

pub fn settings_for(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), database_url.into()),
        ("ACSGW_SECRET_KEYS".into(), KEYRING.into()),
        ("ACSGW_LISTEN".into(), "127.0.0.1:0".into()),
        ("ACSGW_ALLOW_INSECURE_HTTP".into(), "true".into()),
        ("ACSGW_DB_MAX_CONNECTIONS".into(), "5".into()),
        ("ACSGW_SHUTDOWN_TIMEOUT_SECONDS".into(), "1".into()),
        // A test machine running the whole suite on two cores can be slower than any production
        // Postgres; the outage tests set the production budgets back.
        ("ACSGW_DB_LOOKUP_TIMEOUT_MS".into(), "5000".into()),
        ("ACSGW_DB_REQUEST_TIMEOUT_MS".into(), "5000".into()),
    ];
    for (k, v) in overrides {
        vars.retain(|(name, _)| name != k);
        vars.push(((*k).into(), (*v).into()));
    }
    let source =
        Source::from_env_fn(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap();
    Settings::from_source(&source).unwrap()
}

/// Another gateway replica on an existing database (no admin key of its own).
pub async fn spawn_app_on(database_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    let app = start(database_url, overrides).await;
    let mut listener_sessions = app.tenant_cache.listener_sessions();
    // Wait for the change listener, so no notification of the test is missed.
    tokio::time::timeout(Duration::from_secs(5), listener_sessions.wait_for(|sessions| *sessions > 0))
        .await
        .expect("the tenant change listener connects")
        .unwrap();
    app
}

/// A gateway whose Postgres never answers.
pub async fn spawn_app_without_postgres(overrides: &[(&str, &str)]) -> TestApp {
    start("postgres://postgres@127.0.0.1:1/nowhere", overrides).await
}

async fn start(database_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    let app = Application::build(settings_for(database_url, overrides)).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let tenant_cache = app.tenant_cache().clone();
    let metrics_port = app.metrics_port();
    let handle = app.handle();
    let stopped = Arc::new(tokio::sync::Notify::new());
    let on_stop = stopped.clone();
    tokio::spawn(async move {
        let _ = app.run_until_stopped().await;
        on_stop.notify_one();
    });
    TestApp {
        address,
        client: http_client(),
        admin_key: String::new(),
        database_url: database_url.to_owned(),
        pool: PgPool::connect_lazy(database_url).unwrap(),
        tenant_cache,
        metrics_port,
        handle,
        stopped,
    }
}

/// A unique slug for this test's tenant.
pub fn unique_slug() -> String {
    format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A valid tenant body: authority `tenant`, an access key, a webhook policy.
pub fn tenant_body(slug: &str) -> Value {
    json!({
        "slug": slug,
        "displayName": "Fabrikam Inc.",
        "entra": {"authority": "tenant", "tenantId": ENTRA_TENANT, "allowedAppIds": [APP_ID]},
        "acs": {"connectionString": format!("endpoint=https://fabrikam.communication.azure.com/;accesskey={ACCESS_KEY}")},
        "authorization": {"type": "webhook", "url": "https://auth.contoso.example/decide", "secret": WEBHOOK_SECRET},
        "limits": {"exchangesPerSecond": 10, "burst": 20}
    })
}

impl TestApp {
    /// Terminates every tenant-change listener connection on this test's database (every replica's),
    /// waits until this app's listener is back, and says how many connections were cut.
    pub async fn cut_listeners(&self) -> i64 {
        let mut sessions = self.tenant_cache.listener_sessions();
        let first = *sessions.borrow_and_update();
        let killed = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        tokio::time::timeout(Duration::from_secs(5), sessions.wait_for(|now| *now > first))
            .await
            .expect("the listener reconnects")
            .unwrap();
        killed
    }

    /// Stops the gateway gracefully and waits until it has finished (final statistics flush included).
    pub async fn stop(&self) {
        let stopped = self.stopped.notified();
        self.handle.stop(true).await;
        tokio::time::timeout(Duration::from_secs(10), stopped).await.expect("the gateway stops");
    }

    /// Creates an admin key named `name` and uses it from now on.
    pub async fn with_admin_key(mut self, name: &str) -> Self {
        let key = registry::admin_keys::create(
            &self.pool,
            &registry::admin_keys::AdminKeyName::parse(name).unwrap(),
            &registry::audit::Actor::cli("test"),
        )
        .await
        .unwrap();
        self.admin_key = secrecy::ExposeSecret::expose_secret(&key).to_owned();
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(&self.admin_key)
    }

    pub async fn create_tenant_with(&self, body: &Value) -> Response {
        self.admin(reqwest::Method::POST, "/admin/v1/tenants").json(body).send().await.unwrap()
    }

    /// Creates a fresh tenant and returns its slug and body.
    pub async fn create_tenant(&self) -> (String, Value) {
        let slug = unique_slug();
        let response = self.create_tenant_with(&tenant_body(&slug)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        (slug, response.json().await.unwrap())
    }

    pub async fn get_tenant(&self, slug: &str) -> Response {
        self.admin(reqwest::Method::GET, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap()
    }

    pub async fn patch_tenant(&self, slug: &str, if_match: Option<&str>, patch: &Value) -> Response {
        let mut request = self
            .admin(reqwest::Method::PATCH, &format!("/admin/v1/tenants/{slug}"))
            .header("content-type", "application/merge-patch+json")
            .body(patch.to_string());
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        request.send().await.unwrap()
    }

    pub async fn audit_events(&self, slug: &str) -> Vec<Value> {
        let response = self
            .admin(reqwest::Method::GET, &format!("/admin/v1/audit-events?tenant={slug}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    }
}

/// Asserts a problem response and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
    body
}

pub fn etag(response: &Response) -> String {
    response.headers()["etag"].to_str().unwrap().to_owned()
}

/// An HTTP client for tests, with a timeout: a hung server fails the test instead of holding it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}
