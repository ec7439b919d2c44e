//! The `tenants` row and its conversion to and from domain types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{
    RegistryError,
    domain::{
        AcsConnection, AcsCredential, AcsEndpoint, AppId, Authority, AuthorityKind, AuthorizationPolicy,
        DisplayName, EntraSettings, EntraTenantId, Limits, Tenant, TenantId, TenantSlug, TenantStatus,
        Transport,
    },
    sealing::StoredSecret,
};

#[derive(sqlx::FromRow)]
pub(super) struct TenantRow {
    id: Uuid,
    slug: String,
    display_name: String,
    status: String,
    entra_authority: String,
    entra_tenant_id: Option<Uuid>,
    entra_allowed_tenant_ids: Vec<Uuid>,
    entra_allowed_app_ids: Vec<Uuid>,
    acs_endpoint: String,
    acs_credential: Json<StoredAcsCredential>,
    authorization_policy: Json<AuthorizationPolicy<StoredSecret>>,
    exchanges_per_second: i32,
    burst: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

/// `acs_credential` as stored (jsonb).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub(super) enum StoredAcsCredential {
    AccessKey { access_key: StoredSecret },
    ClientSecret { tenant_id: Uuid, client_id: Uuid, client_secret: StoredSecret },
}

impl From<&AcsCredential> for StoredAcsCredential {
    fn from(credential: &AcsCredential) -> Self {
        match credential {
            AcsCredential::AccessKey(secret) => Self::AccessKey { access_key: secret.clone() },
            AcsCredential::ClientSecret { tenant_id, client_id, client_secret } => Self::ClientSecret {
                tenant_id: tenant_id.as_uuid(),
                client_id: client_id.as_uuid(),
                client_secret: client_secret.clone(),
            },
        }
    }
}

pub(super) fn authority_columns(authority: &Authority) -> (&'static str, Option<Uuid>, Vec<Uuid>) {
    match authority {
        Authority::Tenant(id) => ("tenant", Some(id.as_uuid()), Vec::new()),
        Authority::Organizations(allowed) => {
            ("organizations", None, allowed.iter().map(EntraTenantId::as_uuid).collect())
        }
        Authority::NotConnected(kind) => (kind.as_str(), None, Vec::new()),
    }
}

pub(super) fn app_id_column(entra: &EntraSettings) -> Vec<Uuid> {
    entra.allowed_app_ids().iter().map(AppId::as_uuid).collect()
}

fn corrupt(what: impl std::fmt::Display) -> RegistryError {
    RegistryError::Corrupt(what.to_string())
}

impl TryFrom<TenantRow> for Tenant {
    type Error = RegistryError;

    fn try_from(row: TenantRow) -> Result<Self, Self::Error> {
        let tenant_ids = |ids: Vec<Uuid>| {
            ids.into_iter().map(EntraTenantId::from_uuid).collect::<Result<Vec<_>, _>>().map_err(corrupt)
        };
        let status = TenantStatus::parse(&row.status).map_err(corrupt)?;
        let unlisted = row.entra_allowed_tenant_ids.is_empty();
        let authority = match (row.entra_authority.as_str(), row.entra_tenant_id) {
            ("tenant", Some(id)) => Authority::Tenant(EntraTenantId::from_uuid(id).map_err(corrupt)?),
            ("tenant", None) if unlisted => Authority::NotConnected(AuthorityKind::Tenant),
            ("organizations", None) if unlisted => Authority::NotConnected(AuthorityKind::Organizations),
            ("organizations", None) => {
                Authority::organizations(tenant_ids(row.entra_allowed_tenant_ids)?).map_err(corrupt)?
            }
            (other, _) => return Err(corrupt(format!("authority {other:?}"))),
        };
        let apps = row.entra_allowed_app_ids.into_iter().map(AppId::from).collect();
        let credential = match row.acs_credential.0 {
            StoredAcsCredential::AccessKey { access_key } => AcsCredential::AccessKey(access_key),
            StoredAcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
                AcsCredential::ClientSecret {
                    tenant_id: EntraTenantId::from_uuid(tenant_id).map_err(corrupt)?,
                    client_id: AppId::from(client_id),
                    client_secret,
                }
            }
        };
        let limit = |v: i32| u32::try_from(v).map_err(corrupt);
        Ok(Tenant {
            id: TenantId::from_uuid(row.id),
            slug: TenantSlug::parse(&row.slug).map_err(corrupt)?,
            display_name: DisplayName::parse(&row.display_name).map_err(corrupt)?,
            entra: {
                let entra = EntraSettings::new(authority, apps).map_err(corrupt)?;
                status
                    .admits(&entra)
                    .map_err(|e| corrupt(format!("entra of a {} tenant {e}", status.as_str())))?;
                entra
            },
            status,
            acs: AcsConnection {
                // Stored values were checked on write; the transport is enforced again at call time.
                endpoint: AcsEndpoint::parse(&row.acs_endpoint, Transport::AllowInsecureHttp)
                    .map_err(corrupt)?,
                credential,
            },
            authorization: row.authorization_policy.0,
            limits: Limits::new(limit(row.exchanges_per_second)?, limit(row.burst)?).map_err(corrupt)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}
