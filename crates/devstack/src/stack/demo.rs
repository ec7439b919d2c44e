//! The demo: an admin key, a demo tenant pointing at the emulator, and the lines to paste.

use std::{io::Write, os::unix::fs::OpenOptionsExt, path::Path, sync::Arc};

use anyhow::Context;
use registry::{
    admin_keys::{self, AdminKeyName},
    audit::Actor,
    domain::{
        AppId, Authority, AuthorizationPolicy, ConnectionString, DisplayName, EntraSettings, EntraTenantId,
        Limits, NewAcsConnection, NewAcsCredential, NewTenant, TenantSlug, TenantStatus, Transport,
    },
    sealing::Keyring,
    tenants::TenantStore,
};
use secrecy::ExposeSecret;
use sqlx::PgPool;

pub const SLUG: &str = "demo";
/// Fixed, so the printed curl lines stay the same from run to run.
pub const ENTRA_TENANT_ID: &str = "d3e0d3e0-0000-4000-8000-000000000001";
pub const APP_ID: &str = "d3e0d3e0-0000-4000-8000-0000000000a1";
pub const USER_ID: &str = "d3e0d3e0-0000-4000-8000-00000000ace1";

pub struct Urls {
    pub gateway: String,
    pub entra: String,
    pub acs: String,
}

pub struct Demo {
    pub admin_key: String,
}

pub async fn prepare(
    database_url: &str,
    keyring: Arc<Keyring>,
    connection_string: &str,
) -> anyhow::Result<Demo> {
    let pool = PgPool::connect(database_url).await.context("cannot connect to the stack's database")?;
    let actor = Actor::cli("acs-devstack");
    let key = admin_keys::create(&pool, &AdminKeyName::parse("devstack")?, &actor).await?;
    let store = TenantStore::new(pool.clone(), keyring);
    let slug = TenantSlug::parse(SLUG)?;
    let acs = || -> anyhow::Result<NewAcsConnection> {
        let parsed = ConnectionString::parse(connection_string, Transport::AllowInsecureHttp)?;
        Ok(NewAcsConnection {
            endpoint: parsed.endpoint,
            credential: NewAcsCredential::AccessKey(parsed.access_key),
        })
    };
    // The emulator's port may differ from the last run: point the demo tenant at this one.
    if store.get(&slug).await?.is_some() {
        store.replace_acs(&slug, None, acs()?, &actor).await?;
    } else {
        let new = NewTenant {
            slug,
            display_name: DisplayName::parse("Demo tenant (devstack)")?,
            status: TenantStatus::Active,
            entra: EntraSettings::new(
                Authority::Tenant(EntraTenantId::parse(ENTRA_TENANT_ID)?),
                vec![AppId::parse(APP_ID)?],
            )?,
            acs: acs()?,
            authorization: AuthorizationPolicy::None,
            limits: Limits::default(),
        };
        store.create(new, &actor).await?;
    }
    pool.close().await;
    Ok(Demo { admin_key: key.expose_secret().to_owned() })
}

pub fn write_env_file(path: &Path, urls: &Urls, demo: &Demo, connection_string: &str) -> anyhow::Result<()> {
    let lines = [
        ("ACSGW_URL", urls.gateway.as_str()),
        ("DEV_ENTRA_URL", urls.entra.as_str()),
        ("DEV_ACS_ENDPOINT", urls.acs.trim_end_matches('/')),
        ("DEV_ACS_CONNECTION_STRING", connection_string),
        ("DEV_ADMIN_KEY", demo.admin_key.as_str()),
        ("DEV_TENANT", SLUG),
        ("DEV_ENTRA_TENANT_ID", ENTRA_TENANT_ID),
        ("DEV_APP_ID", APP_ID),
        ("DEV_USER_ID", USER_ID),
    ];
    let text: String = lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    // It holds an admin key: readable by its owner only.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write --env-file {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

pub fn print_banner(urls: &Urls, demo: &Demo) {
    let Urls { gateway, entra, acs } = urls;
    let key = &demo.admin_key;
    eprintln!(
        r#"
ACS Teams Token Gateway devstack is up (Ctrl-C stops everything).

  gateway          {gateway}
  dev Entra issuer {entra}
  ACS emulator     {acs}
  admin key        {key}
  demo tenant      {SLUG} (Entra tenant {ENTRA_TENANT_ID}, app {APP_ID}, authorization: none)

# The demo tenant, through the admin API
curl -s {gateway}/admin/v1/tenants/{SLUG} -H 'Authorization: Bearer {key}'

# 1. Mint a Teams user's Entra token for ACS (A1) at the dev issuer
A1=$(curl -s -X POST {entra}/dev/tokens -H 'Content-Type: application/json' \
  -d '{{"tenantId":"{ENTRA_TENANT_ID}","oid":"{USER_ID}","appId":"{APP_ID}"}}' | sed -E 's/.*"token":"([^"]+)".*/\1/')

# 2. Exchange it for an ACS token (D) through the gateway
curl -s -X POST {gateway}/v1/tenants/{SLUG}/token/teams -H 'Content-Type: application/json' \
  -d "{{\"token\":\"$A1\",\"appId\":\"{APP_ID}\",\"userId\":\"{USER_ID}\"}}"

# Make the emulator misbehave (latency, 5xx share, 429 share, resets), and see what it served
curl -s -X POST {acs}/dev/faults -H 'Content-Type: application/json' -d '{{"throttleRate":0.5,"retryAfterSeconds":2}}'
curl -s {acs}/dev/stats
"#
    );
}
