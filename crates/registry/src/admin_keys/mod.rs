//! Admin API keys: 256 random bits shown once at creation; only their SHA-256 is stored. Each key
//! has a [`Role`] (a `tenant` key is bound to one tenant), may expire, and can be revoked. Keys are
//! checked against Postgres on every admin request, so a revocation or an expiry holds on every
//! replica at once; their last use is written in batches by [`KeyUsage`].

mod scope;
mod usage;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

pub use self::{
    scope::{AdminKeyScope, Role, ScopeError},
    usage::KeyUsage,
};
use crate::{
    RegistryError,
    audit::{self, Action, Actor, Change},
    domain::{InvalidValue, TenantSlug},
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

/// Who an authenticated admin request is from, and what the key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    pub key_id: Uuid,
    pub name: String,
    pub scope: AdminKeyScope,
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    Valid(AdminPrincipal),
    Unknown,
    Revoked,
    Expired,
    /// A `tenant` key whose tenant has been deleted.
    TenantGone,
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewAdminKey {
    pub name: AdminKeyName,
    pub scope: AdminKeyScope,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An admin key as listed: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    pub id: Uuid,
    pub name: String,
    pub scope: AdminKeyScope,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    name: String,
    role: String,
    tenant_slug: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for AdminKey {
    type Error = RegistryError;

    fn try_from(row: KeyRow) -> Result<Self, Self::Error> {
        Ok(Self {
            scope: stored_scope(&row.role, row.tenant_slug.as_deref())?,
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

fn stored_scope(role: &str, tenant: Option<&str>) -> Result<AdminKeyScope, RegistryError> {
    let corrupt = |what: String| RegistryError::Corrupt(format!("admin key {what}"));
    let role = Role::parse(role).map_err(|e| corrupt(format!("role {e}")))?;
    let tenant = tenant.map(TenantSlug::parse).transpose().map_err(|e| corrupt(format!("tenant {e}")))?;
    AdminKeyScope::new(role, tenant).map_err(|e| corrupt(format!("tenant {e}")))
}

/// The SHA-256 of a presented key, the only form in which keys are compared or stored.
pub fn key_hash(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

/// Creates an `owner` key that never expires (the first key of an installation, the devstack's).
pub async fn create(
    pool: &PgPool,
    name: &AdminKeyName,
    actor: &Actor,
) -> Result<SecretString, RegistryError> {
    let new = NewAdminKey { name: name.clone(), scope: AdminKeyScope::Owner, expires_at: None };
    Ok(create_with(pool, &new, actor).await?.1)
}

/// Creates a key and returns it with its record; the caller shows the key once and it can never be
/// read back. A `tenant` key's tenant must exist: [`RegistryError::NotFound`] when it does not.
pub async fn create_with(
    pool: &PgPool,
    new: &NewAdminKey,
    actor: &Actor,
) -> Result<(AdminKey, SecretString), RegistryError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = SecretString::from(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)));
    let mut tx = pool.begin().await?;
    let tenant = match new.scope.tenant() {
        None => None,
        Some(slug) => {
            let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
                .bind(slug.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            Some((id.ok_or(RegistryError::NotFound)?, slug))
        }
    };
    let row: KeyRow = sqlx::query_as(
        "INSERT INTO admin_keys (id, name, key_hash, role, tenant_id, tenant_slug, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, name, role, tenant_slug, created_at, expires_at, last_used_at, revoked_at",
    )
    .bind(Uuid::now_v7())
    .bind(new.name.as_str())
    .bind(key_hash(key.expose_secret()).as_slice())
    .bind(new.scope.role().as_str())
    .bind(tenant.map(|(id, _)| id))
    .bind(new.scope.tenant().map(TenantSlug::as_str))
    .bind(new.expires_at)
    .fetch_one(&mut *tx)
    .await?;
    let created = AdminKey::try_from(row)?;
    let set = |field: &str, value: Value| Change { field: field.into(), from: None, to: Some(value) };
    let mut changes = vec![
        set("/id", created.id.to_string().into()),
        set("/name", created.name.clone().into()),
        set("/role", created.scope.role().as_str().into()),
    ];
    if let Some(slug) = created.scope.tenant() {
        changes.push(set("/tenant", slug.as_str().into()));
    }
    if let Some(expires_at) = created.expires_at {
        changes.push(set("/expiresAt", expires_at.to_rfc3339().into()));
    }
    audit::record(&mut tx, tenant, actor, Action::AdminKeyCreated, &changes).await?;
    tx.commit().await?;
    Ok((created, key))
}

/// Every key, revoked and expired ones included, newest first.
pub async fn list(pool: &PgPool) -> Result<Vec<AdminKey>, RegistryError> {
    let rows: Vec<KeyRow> = sqlx::query_as(
        "SELECT id, name, role, tenant_slug, created_at, expires_at, last_used_at, revoked_at
         FROM admin_keys ORDER BY created_at DESC, id DESC",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(AdminKey::try_from).collect()
}

#[derive(sqlx::FromRow)]
struct Revoked {
    name: String,
    tenant_id: Option<Uuid>,
    tenant_slug: Option<String>,
    revoked_at: DateTime<Utc>,
    revoked_now: bool,
}

/// Revokes a key: from the moment this commits, no replica accepts it. Revoking a key that is
/// already revoked changes nothing (and records nothing); an unknown id is [`RegistryError::NotFound`].
pub async fn revoke(pool: &PgPool, id: Uuid, actor: &Actor) -> Result<(), RegistryError> {
    let mut tx = pool.begin().await?;
    let row: Option<Revoked> = sqlx::query_as(
        "UPDATE admin_keys k SET revoked_at = coalesce(k.revoked_at, now())
         FROM (SELECT id, revoked_at FROM admin_keys WHERE id = $1 FOR UPDATE) before
         WHERE k.id = before.id
         RETURNING k.name, k.tenant_id, k.tenant_slug, k.revoked_at,
                   before.revoked_at IS NULL AS revoked_now",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Revoked { name, tenant_id, tenant_slug, revoked_at, revoked_now } =
        row.ok_or(RegistryError::NotFound)?;
    if revoked_now {
        let slug = tenant_slug
            .as_deref()
            .map(TenantSlug::parse)
            .transpose()
            .map_err(|e| RegistryError::Corrupt(format!("admin key tenant {e}")))?;
        let tenant = tenant_id.zip(slug.as_ref());
        let changes = [
            Change { field: "/id".into(), from: Some(id.to_string().into()), to: None },
            Change { field: "/name".into(), from: Some(name.into()), to: None },
            Change { field: "/revokedAt".into(), from: None, to: Some(revoked_at.to_rfc3339().into()) },
        ];
        audit::record(&mut tx, tenant, actor, Action::AdminKeyRevoked, &changes).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Presented {
    id: Uuid,
    name: String,
    role: String,
    tenant_slug: Option<String>,
    revoked: bool,
    expired: bool,
    tenant_gone: bool,
}

/// What a presented key is: revocation, expiry (against Postgres' clock) and a `tenant` key's
/// tenant are checked in the one query.
pub async fn authenticate(pool: &PgPool, presented_hash: &[u8; 32]) -> Result<Authentication, RegistryError> {
    let row: Option<Presented> = sqlx::query_as(
        "SELECT k.id, k.name, k.role, k.tenant_slug,
                k.revoked_at IS NOT NULL AS revoked,
                coalesce(k.expires_at <= now(), false) AS expired,
                k.tenant_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = k.tenant_id) AS tenant_gone
         FROM admin_keys k WHERE k.key_hash = $1",
    )
    .bind(presented_hash.as_slice())
    .fetch_optional(pool)
    .await?;
    let Some(Presented { id: key_id, name, role, tenant_slug: tenant, revoked, expired, tenant_gone }) = row
    else {
        return Ok(Authentication::Unknown);
    };
    Ok(if revoked {
        Authentication::Revoked
    } else if expired {
        Authentication::Expired
    } else if tenant_gone {
        Authentication::TenantGone
    } else {
        let scope = stored_scope(&role, tenant.as_deref())?;
        Authentication::Valid(AdminPrincipal { key_id, name, scope })
    })
}
