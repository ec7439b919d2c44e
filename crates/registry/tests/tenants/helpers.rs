use std::{sync::Arc, time::Duration};

use local_pg::PostgresServer;
use registry::{
    audit::Actor,
    domain::{
        AccessKey, AcsEndpoint, AppId, Authority, AuthorizationPolicy, DisplayName, EntraSettings,
        EntraTenantId, Limits, NewAcsConnection, NewAcsCredential, NewTenant, SecretInput, ServiceUrl,
        TenantChanges, TenantSlug, TenantStatus, Transport, WebhookTimeouts,
    },
    health::{HealthConfig, RegistryHealth},
    sealing::Keyring,
    tenants::TenantStore,
};
use secrecy::SecretString;
use sqlx::{PgPool, postgres::PgPoolOptions};

pub const KEYRING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// The ACS access key of the test tenants (base64 of bytes 0x00..0x1f).
pub const ACCESS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const WEBHOOK_SECRET: &str = "webhook-secret-that-is-long-enough-0123456789";
const ENTRA_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const APP_ID: &str = "11111111-2222-3333-4444-555555555555";

/// A repository over a fresh, migrated database, and a pool to look at what it wrote. Generous
/// budgets: a loaded test machine can be slower than any production Postgres.
pub async fn store() -> (TenantStore, PgPool) {
    let server = PostgresServer::for_tests().await.unwrap();
    let url = server.create_database().await.unwrap();
    let pool = PgPoolOptions::new().max_connections(5).connect(&url).await.unwrap();
    registry::migrate::run(&pool).await.unwrap();
    let health = RegistryHealth::new(HealthConfig {
        lookup_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(10),
        ..HealthConfig::default()
    });
    let store = TenantStore::new(pool.clone(), Arc::new(Keyring::parse(KEYRING).unwrap()), health);
    (store, pool)
}

pub fn actor() -> Actor {
    Actor { name: "test-operator".into(), request_id: None }
}

pub fn slug(value: &str) -> TenantSlug {
    TenantSlug::parse(value).unwrap()
}

fn entra() -> EntraSettings {
    let authority = Authority::Tenant(EntraTenantId::parse(ENTRA_TENANT).unwrap());
    EntraSettings::new(authority, vec![AppId::parse(APP_ID).unwrap()]).unwrap()
}

fn webhook() -> AuthorizationPolicy<SecretInput> {
    AuthorizationPolicy::Webhook {
        url: ServiceUrl::parse("https://auth.contoso.example/decide", Transport::HttpsOnly).unwrap(),
        secret: SecretInput::New(SecretString::from(WEBHOOK_SECRET)),
        timeouts: WebhookTimeouts::default(),
    }
}

/// A tenant to create: an ACS access key, a webhook policy.
pub fn new_tenant(value: &str) -> NewTenant {
    NewTenant {
        slug: slug(value),
        display_name: DisplayName::parse("Fabrikam Inc.").unwrap(),
        status: TenantStatus::Active,
        entra: entra(),
        acs: NewAcsConnection {
            endpoint: AcsEndpoint::parse("https://fabrikam.communication.azure.com/", Transport::HttpsOnly)
                .unwrap(),
            credential: NewAcsCredential::AccessKey(AccessKey::from_base64(ACCESS_KEY).unwrap()),
        },
        authorization: webhook(),
        limits: Limits::new(10, 20).unwrap(),
    }
}

/// Every mutable field, with this display name (the webhook secret sent again).
pub fn changes(display_name: &str) -> TenantChanges {
    TenantChanges {
        display_name: DisplayName::parse(display_name).unwrap(),
        status: TenantStatus::Active,
        entra: entra(),
        authorization: webhook(),
        limits: Limits::new(10, 20).unwrap(),
    }
}
