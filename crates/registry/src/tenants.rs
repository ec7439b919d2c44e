//! The tenant repository. Every function starts from the tenant (its slug); every change runs in one
//! transaction with its audit event and a `NOTIFY` that tells every replica to drop its cached copy.

mod document;
mod opened;
mod row;
#[cfg(test)]
mod sealing_tests;

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::{PgConnection, PgPool, types::Json};
use uuid::Uuid;

use self::row::{StoredAcsCredential, TenantRow};
pub use self::{
    document::audit_document,
    opened::{OpenedAcsCredential, OpenedSecret, OpenedTenant},
};
use crate::{
    RegistryError,
    audit::{self, Action, Actor, Change},
    domain::{
        AcsConnection, AcsCredential, AuthorizationPolicy, NewAcsConnection, NewAcsCredential, NewTenant,
        SecretInput, Tenant, TenantChanges, TenantSlug,
    },
    health::{Budget, RegistryHealth},
    notice::{CHANGES_CHANNEL, Notice},
    sealing::{Keyring, SealContext, SealError, StoredSecret},
};

macro_rules! columns {
    () => {
        "id, slug, display_name, status, entra_authority, entra_tenant_id, entra_allowed_tenant_ids,
         entra_allowed_app_ids, acs_endpoint, acs_credential, authorization_policy, exchanges_per_second,
         burst, created_at, updated_at, version"
    };
}

// After `columns!`, which it uses.
mod reseal;

/// Where a listing continues: after the tenant created at `created_at` with id `id` (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    created_at: DateTime<Utc>,
    id: Uuid,
}

impl ListCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.created_at.timestamp_micros(), self.id))
    }

    pub fn decode(value: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
        let (micros, id) = raw.split_once('|')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::try_parse(id).ok()?,
        })
    }
}

/// The tenants table. Every call goes through the replica's [`RegistryHealth`]: bounded in time, and
/// failing at once while Postgres is known to be unreachable.
#[derive(Clone)]
pub struct TenantStore {
    pool: PgPool,
    keyring: Arc<Keyring>,
    health: RegistryHealth,
}

impl TenantStore {
    pub fn new(pool: PgPool, keyring: Arc<Keyring>, health: RegistryHealth) -> Self {
        Self { pool, keyring, health }
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn health(&self) -> &RegistryHealth {
        &self.health
    }

    /// The tenant, for an admin request.
    pub async fn get(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RegistryError> {
        self.health.guard(Budget::Request, self.fetch(slug)).await
    }

    /// The tenant, on the exchange path: a shorter budget, so a caller hears "unavailable" quickly.
    pub async fn lookup(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RegistryError> {
        self.health.guard(Budget::Lookup, self.fetch(slug)).await
    }

    async fn fetch(&self, slug: &TenantSlug) -> Result<Option<Tenant>, RegistryError> {
        let row: Option<TenantRow> =
            sqlx::query_as(concat!("SELECT ", columns!(), " FROM tenants WHERE slug = $1"))
                .bind(slug.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(Tenant::try_from).transpose()
    }

    /// Which of `slugs` name a tenant that exists now (one query, nothing unsealed).
    pub async fn existing_slugs(&self, slugs: &[String]) -> Result<Vec<String>, RegistryError> {
        let query = sqlx::query_scalar("SELECT slug FROM tenants WHERE slug = ANY($1)").bind(slugs);
        self.health.guard(Budget::Request, async { Ok(query.fetch_all(&self.pool).await?) }).await
    }

    /// The current version of each of `slugs` that exists (one query, nothing unsealed): what a
    /// replica checks its cached records against after it may have missed change notifications.
    pub async fn versions(&self, slugs: &[String]) -> Result<Vec<(String, i64)>, RegistryError> {
        let query = sqlx::query_as("SELECT slug, version FROM tenants WHERE slug = ANY($1)").bind(slugs);
        self.health.guard(Budget::Request, async { Ok(query.fetch_all(&self.pool).await?) }).await
    }

    /// Newest first; the cursor, when present, continues after the last tenant returned.
    pub async fn list(
        &self,
        limit: u32,
        after: Option<ListCursor>,
    ) -> Result<(Vec<Tenant>, Option<ListCursor>), RegistryError> {
        self.health
            .guard(Budget::Request, async move {
                let rows: Vec<TenantRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM tenants
                  WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2)
                  ORDER BY created_at DESC, id DESC
                  LIMIT $3"
                ))
                .bind(after.map(|c| c.created_at))
                .bind(after.map(|c| c.id))
                .bind(i64::from(limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let mut tenants = rows.into_iter().map(Tenant::try_from).collect::<Result<Vec<_>, _>>()?;
                let next = if tenants.len() > limit as usize {
                    tenants.truncate(limit as usize);
                    tenants.last().map(|t| ListCursor { created_at: t.created_at, id: t.id.as_uuid() })
                } else {
                    None
                };
                Ok((tenants, next))
            })
            .await
    }

    pub async fn create(&self, new: NewTenant, actor: &Actor) -> Result<Tenant, RegistryError> {
        self.health
            .guard(Budget::Request, async move {
                let id = Uuid::now_v7();
                let acs = seal_acs(&self.keyring, id, new.acs)?;
                let authorization = seal_policy(&self.keyring, id, new.authorization)?;
                let (authority, tenant_id, allowed_tenants) = row::authority_columns(new.entra.authority());
                let mut tx = self.pool.begin().await?;
                let row: TenantRow = sqlx::query_as(concat!(
                    "INSERT INTO tenants (id, slug, display_name, status, entra_authority, entra_tenant_id,
                    entra_allowed_tenant_ids, entra_allowed_app_ids, acs_endpoint, acs_credential,
                    acs_key_fingerprint, authorization_policy, exchanges_per_second, burst)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 RETURNING ",
                    columns!()
                ))
                .bind(id)
                .bind(new.slug.as_str())
                .bind(new.display_name.as_str())
                .bind(new.status.as_str())
                .bind(authority)
                .bind(tenant_id)
                .bind(allowed_tenants)
                .bind(row::app_id_column(&new.entra))
                .bind(acs.endpoint.as_str())
                .bind(Json(StoredAcsCredential::from(&acs.credential)))
                .bind(acs.credential.fingerprint())
                .bind(Json(&authorization))
                .bind(limit_column(new.limits.exchanges_per_second()))
                .bind(limit_column(new.limits.burst()))
                .fetch_one(&mut *tx)
                .await
                .map_err(slug_taken)?;
                let tenant = Tenant::try_from(row)?;
                let changes = audit::diff(&json!({}), &audit_document(&tenant));
                finish_change(&mut tx, &tenant, actor, Action::TenantCreated, &changes).await?;
                tx.commit().await?;
                Ok(tenant)
            })
            .await
    }

    /// Replaces every mutable field; a no-op change writes nothing and keeps the version.
    pub async fn update(
        &self,
        slug: &TenantSlug,
        expected_version: Option<i64>,
        changes: TenantChanges,
        actor: &Actor,
    ) -> Result<Tenant, RegistryError> {
        self.health
            .guard(Budget::Request, async move {
            let mut tx = self.pool.begin().await?;
            let before = lock(&mut tx, slug, expected_version).await?;
            let authorization = seal_policy(&self.keyring, before.id.as_uuid(), changes.authorization)?;
            let (authority, tenant_id, allowed_tenants) = row::authority_columns(changes.entra.authority());
            let proposed = Tenant {
                display_name: changes.display_name.clone(),
                status: changes.status,
                entra: changes.entra.clone(),
                authorization: authorization.clone(),
                limits: changes.limits,
                ..before.clone()
            };
            let diff = audit::diff(&audit_document(&before), &audit_document(&proposed));
            if diff.is_empty() {
                return Ok(before);
            }
            let row: TenantRow = sqlx::query_as(concat!(
                "UPDATE tenants SET display_name = $2, status = $3, entra_authority = $4, entra_tenant_id = $5,
                    entra_allowed_tenant_ids = $6, entra_allowed_app_ids = $7, authorization_policy = $8,
                    exchanges_per_second = $9, burst = $10, updated_at = now(), version = version + 1
                 WHERE id = $1
                 RETURNING ",
                columns!()
            ))
            .bind(before.id.as_uuid())
            .bind(changes.display_name.as_str())
            .bind(changes.status.as_str())
            .bind(authority)
            .bind(tenant_id)
            .bind(allowed_tenants)
            .bind(row::app_id_column(&changes.entra))
            .bind(Json(&authorization))
            .bind(limit_column(changes.limits.exchanges_per_second()))
            .bind(limit_column(changes.limits.burst()))
            .fetch_one(&mut *tx)
            .await?;
            let tenant = Tenant::try_from(row)?;
            finish_change(&mut tx, &tenant, actor, Action::TenantUpdated, &diff).await?;
            tx.commit().await?;
            Ok(tenant)
            })
            .await
    }

    /// Replaces the ACS connection (key rotation).
    pub async fn replace_acs(
        &self,
        slug: &TenantSlug,
        expected_version: Option<i64>,
        acs: NewAcsConnection,
        actor: &Actor,
    ) -> Result<Tenant, RegistryError> {
        self.health
            .guard(Budget::Request, async move {
                let mut tx = self.pool.begin().await?;
                let before = lock(&mut tx, slug, expected_version).await?;
                let acs = seal_acs(&self.keyring, before.id.as_uuid(), acs)?;
                let row: TenantRow = sqlx::query_as(concat!(
                    "UPDATE tenants SET acs_endpoint = $2, acs_credential = $3, acs_key_fingerprint = $4,
                    updated_at = now(), version = version + 1
                 WHERE id = $1
                 RETURNING ",
                    columns!()
                ))
                .bind(before.id.as_uuid())
                .bind(acs.endpoint.as_str())
                .bind(Json(StoredAcsCredential::from(&acs.credential)))
                .bind(acs.credential.fingerprint())
                .fetch_one(&mut *tx)
                .await?;
                let tenant = Tenant::try_from(row)?;
                let mut changes = audit::diff(&audit_document(&before), &audit_document(&tenant));
                if changes.is_empty() {
                    // The same key again still is a rotation worth recording.
                    changes.push(Change { field: "/acs".into(), from: None, to: None });
                }
                finish_change(&mut tx, &tenant, actor, Action::TenantAcsRotated, &changes).await?;
                tx.commit().await?;
                Ok(tenant)
            })
            .await
    }

    pub async fn delete(
        &self,
        slug: &TenantSlug,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<(), RegistryError> {
        self.health
            .guard(Budget::Request, async move {
                let mut tx = self.pool.begin().await?;
                let before = lock(&mut tx, slug, expected_version).await?;
                sqlx::query("DELETE FROM tenants WHERE id = $1")
                    .bind(before.id.as_uuid())
                    .execute(&mut *tx)
                    .await?;
                finish_change(&mut tx, &before, actor, Action::TenantDeleted, &[]).await?;
                tx.commit().await?;
                Ok(())
            })
            .await
    }
}

/// Associated-data purposes, so an ACS key cannot be swapped in as a policy secret or back. Code
/// outside this crate opens secrets with [`Tenant::open`](crate::domain::Tenant::open).
pub(crate) const ACS_PURPOSE: &str = "acs";
pub(crate) const POLICY_PURPOSE: &str = "authorization";

fn seal_acs(keyring: &Keyring, tenant: Uuid, acs: NewAcsConnection) -> Result<AcsConnection, SealError> {
    let context = SealContext { tenant, purpose: ACS_PURPOSE };
    let credential = match acs.credential {
        NewAcsCredential::AccessKey(key) => {
            AcsCredential::AccessKey(keyring.seal_secret(key.expose(), context)?)
        }
        NewAcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
            AcsCredential::ClientSecret {
                tenant_id,
                client_id,
                client_secret: keyring.seal_secret(client_secret.expose_secret().as_bytes(), context)?,
            }
        }
    };
    Ok(AcsConnection { endpoint: acs.endpoint, credential })
}

fn seal_policy(
    keyring: &Keyring,
    tenant: Uuid,
    policy: AuthorizationPolicy<SecretInput>,
) -> Result<AuthorizationPolicy<StoredSecret>, SealError> {
    let context = SealContext { tenant, purpose: POLICY_PURPOSE };
    policy.try_map_secrets(|secret| match secret {
        SecretInput::New(plain) => keyring.seal_secret(plain.expose_secret().as_bytes(), context),
        SecretInput::Keep(stored) => Ok(stored),
    })
}

async fn lock(
    conn: &mut PgConnection,
    slug: &TenantSlug,
    expected_version: Option<i64>,
) -> Result<Tenant, RegistryError> {
    let row: Option<TenantRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM tenants WHERE slug = $1 FOR UPDATE"))
            .bind(slug.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let tenant = Tenant::try_from(row.ok_or(RegistryError::NotFound)?)?;
    match expected_version {
        Some(expected) if expected != tenant.version => {
            Err(RegistryError::VersionMismatch { expected, current: tenant.version })
        }
        _ => Ok(tenant),
    }
}

async fn finish_change(
    conn: &mut PgConnection,
    tenant: &Tenant,
    actor: &Actor,
    action: Action,
    changes: &[Change],
) -> Result<(), RegistryError> {
    audit::record(conn, Some((tenant.id.as_uuid(), &tenant.slug)), actor, action, changes).await?;
    let version = (action != Action::TenantDeleted).then_some(tenant.version);
    notify(conn, &Notice::Tenant { slug: tenant.slug.clone(), version }).await
}

/// Delivered to every listener when the transaction commits, and not at all if it rolls back.
async fn notify(conn: &mut PgConnection, notice: &Notice) -> Result<(), RegistryError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(notice.payload())
        .execute(conn)
        .await?;
    Ok(())
}

fn limit_column(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn slug_taken(error: sqlx::Error) -> RegistryError {
    match &error {
        sqlx::Error::Database(db) if db.constraint() == Some("tenants_slug_unique") => {
            RegistryError::SlugTaken
        }
        _ => RegistryError::Database(error),
    }
}
