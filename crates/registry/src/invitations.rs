//! Invitations: one-time, expiring links with which a customer's admin connects a tenant to its
//! Microsoft 365 tenant. Every function but [`find_by_token`] starts from the tenant; that one starts
//! from the token, which is the credential that names the tenant. Creating and revoking are audit
//! events written in the same transaction.

mod model;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use self::model::{
    ConnectedAdmin, Invitation, InvitationState, InvitationToken, Invited, TokenHash, default_lifetime,
    expiry, max_lifetime,
};
use crate::{
    RegistryError,
    audit::{self, Action, Actor, Change},
    domain::{DisplayName, EntraTenantId, TenantId, TenantSlug},
};

/// The newest invitations a tenant's list shows.
pub const LIST_LIMIT: i64 = 500;

/// Columns of `invitations i JOIN tenants t`, with the state as of now (`expired` computed).
macro_rules! columns {
    () => {
        "i.id, i.tenant_id, t.slug AS tenant_slug, t.display_name AS tenant_display_name,
         CASE WHEN i.state IN ('pending', 'consent_denied', 'service_principal_missing')
                   AND i.expires_at <= now()
              THEN 'expired' ELSE i.state END AS state,
         i.created_at, i.expires_at, i.created_by, i.consumed_at, i.revoked_at, i.connected_tid,
         i.connected_by_oid, i.connected_by_name, i.last_error
         FROM invitations i JOIN tenants t ON t.id = i.tenant_id"
    };
}

/// Creates an invitation for the tenant, expiring at `expires_at`, and returns it with its token:
/// the caller puts the token in the link it shows once; it can never be read back.
/// [`RegistryError::NotFound`] when the tenant is gone.
pub async fn create(
    pool: &PgPool,
    tenant: (TenantId, &TenantSlug),
    expires_at: DateTime<Utc>,
    actor: &Actor,
) -> Result<(Invitation, InvitationToken), RegistryError> {
    let (tenant_id, slug) = tenant;
    let token = InvitationToken::generate();
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO invitations (id, tenant_id, token_hash, expires_at, created_by)
         SELECT $1, t.id, $3, $4, $5 FROM tenants t WHERE t.id = $2",
    )
    .bind(id)
    .bind(tenant_id.as_uuid())
    .bind(token.hash().as_bytes())
    .bind(expires_at)
    .bind(&actor.name)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(RegistryError::NotFound);
    }
    let (invitation, _) = fetch(&mut tx, tenant_id, id).await?.ok_or(RegistryError::NotFound)?;
    let changes = [
        Change { field: "/id".into(), from: None, to: Some(id.to_string().into()) },
        Change { field: "/expiresAt".into(), from: None, to: Some(expires_at.to_rfc3339().into()) },
    ];
    audit::record(&mut tx, Some((tenant_id.as_uuid(), slug)), actor, Action::InvitationCreated, &changes)
        .await?;
    tx.commit().await?;
    Ok((invitation, token))
}

/// The tenant's newest invitations ([`LIST_LIMIT`]), newest first.
pub async fn list(pool: &PgPool, tenant: TenantId) -> Result<Vec<Invitation>, RegistryError> {
    let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " WHERE i.tenant_id = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT $2"
    ))
    .bind(tenant.as_uuid())
    .bind(LIST_LIMIT)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| row.into_invited().map(|invited| invited.invitation)).collect()
}

/// What a revocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The link works no more (it was open, or had expired).
    Revoked,
    /// It was revoked before: nothing changed.
    AlreadyRevoked,
    /// It was used and the tenant is connected: nothing changed, since revoking undoes no connection.
    AlreadyConnected,
}

/// Revokes one of the tenant's invitations; another tenant's, or an unknown id, is
/// [`RegistryError::NotFound`].
pub async fn revoke(
    pool: &PgPool,
    tenant: (TenantId, &TenantSlug),
    id: Uuid,
    actor: &Actor,
) -> Result<Revocation, RegistryError> {
    let (tenant_id, slug) = tenant;
    let mut tx = pool.begin().await?;
    let (before, _) = fetch(&mut tx, tenant_id, id).await?.ok_or(RegistryError::NotFound)?;
    let outcome = match before.state {
        InvitationState::Revoked => Revocation::AlreadyRevoked,
        InvitationState::Connected => Revocation::AlreadyConnected,
        _ => {
            let revoked_at: DateTime<Utc> = sqlx::query_scalar(
                "UPDATE invitations SET state = 'revoked', revoked_at = now()
                 WHERE tenant_id = $1 AND id = $2 RETURNING revoked_at",
            )
            .bind(tenant_id.as_uuid())
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            let changes = [
                Change { field: "/id".into(), from: Some(id.to_string().into()), to: None },
                Change {
                    field: "/state".into(),
                    from: Some(before.state.as_str().into()),
                    to: Some(InvitationState::Revoked.as_str().into()),
                },
                Change { field: "/revokedAt".into(), from: None, to: Some(revoked_at.to_rfc3339().into()) },
            ];
            let tenant = Some((tenant_id.as_uuid(), slug));
            audit::record(&mut tx, tenant, actor, Action::InvitationRevoked, &changes).await?;
            Revocation::Revoked
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// The invitation whose token hashes to `hash`, with its tenant's display name; `None` for a token
/// that names none (also when its tenant has been deleted: its invitations went with it).
pub async fn find_by_token(pool: &PgPool, hash: &TokenHash) -> Result<Option<Invited>, RegistryError> {
    let row: Option<InvitationRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " WHERE i.token_hash = $1"))
            .bind(hash.as_bytes())
            .fetch_optional(pool)
            .await?;
    row.map(InvitationRow::into_invited).transpose()
}

/// One of the tenant's invitations, locked for the transaction.
async fn fetch(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<(Invitation, DisplayName)>, RegistryError> {
    let row: Option<InvitationRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " WHERE i.tenant_id = $1 AND i.id = $2 FOR UPDATE OF i"
    ))
    .bind(tenant.as_uuid())
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let invited = row.map(InvitationRow::into_invited).transpose()?;
    Ok(invited.map(|Invited { invitation, tenant_display_name }| (invitation, tenant_display_name)))
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: Uuid,
    tenant_id: Uuid,
    tenant_slug: String,
    tenant_display_name: String,
    state: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    created_by: String,
    consumed_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    connected_tid: Option<Uuid>,
    connected_by_oid: Option<Uuid>,
    connected_by_name: Option<String>,
    last_error: Option<String>,
}

impl InvitationRow {
    fn into_invited(self) -> Result<Invited, RegistryError> {
        let corrupt = |what: String| RegistryError::Corrupt(format!("invitation {}: {what}", self.id));
        let state =
            InvitationState::parse(&self.state).ok_or_else(|| corrupt(format!("state {:?}", self.state)))?;
        let tenant_slug =
            TenantSlug::parse(&self.tenant_slug).map_err(|e| corrupt(format!("tenant slug {e}")))?;
        let tenant_display_name =
            DisplayName::parse(&self.tenant_display_name).map_err(|e| corrupt(format!("tenant name {e}")))?;
        let connected_tid = self
            .connected_tid
            .map(EntraTenantId::from_uuid)
            .transpose()
            .map_err(|e| corrupt(format!("connected tenant {e}")))?;
        let invitation = Invitation {
            id: self.id,
            tenant_id: TenantId::from_uuid(self.tenant_id),
            tenant_slug,
            state,
            created_at: self.created_at,
            expires_at: self.expires_at,
            created_by: self.created_by,
            consumed_at: self.consumed_at,
            revoked_at: self.revoked_at,
            connected_tid,
            connected_by: self
                .connected_by_oid
                .map(|oid| ConnectedAdmin { oid, name: self.connected_by_name }),
            last_error: self.last_error,
        };
        Ok(Invited { invitation, tenant_display_name })
    }
}
