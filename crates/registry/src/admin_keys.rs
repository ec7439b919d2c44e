//! Admin API keys: 256 random bits shown once at creation; only their SHA-256 is stored.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    RegistryError,
    audit::{self, Action, Actor, Change},
    domain::InvalidValue,
};

const PREFIX: &str = "acsgw_";

/// The name an admin key is known by in audit events: `[A-Za-z0-9._@-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKeyName(String);

impl AdminKeyName {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let ok = (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidValue::new("must be 1 to 64 characters of letters, digits, '.', '_', '@' or '-'"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who an authenticated admin request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub key_id: Uuid,
    pub name: String,
}

/// The SHA-256 of a presented key, the only form in which keys are compared or stored.
pub fn key_hash(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

/// Creates a key and returns it; the caller shows it once and it can never be read back.
pub async fn create(
    pool: &PgPool,
    name: &AdminKeyName,
    actor: &Actor,
) -> Result<SecretString, RegistryError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = SecretString::from(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)));
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO admin_keys (id, name, key_hash) VALUES ($1, $2, $3)")
        .bind(Uuid::now_v7())
        .bind(name.as_str())
        .bind(key_hash(key.expose_secret()).as_slice())
        .execute(&mut *tx)
        .await?;
    let changes = [Change { field: "/name".into(), from: None, to: Some(name.as_str().into()) }];
    audit::record(&mut tx, None, actor, Action::AdminKeyCreated, &changes).await?;
    tx.commit().await?;
    Ok(key)
}

/// The principal for a presented key, if it is a live admin key.
pub async fn authenticate(
    pool: &PgPool,
    presented_hash: &[u8; 32],
) -> Result<Option<AdminPrincipal>, RegistryError> {
    let row: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, name FROM admin_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(presented_hash.as_slice())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(key_id, name)| AdminPrincipal { key_id, name }))
}
