//! Sealing every stored secret again after a keyring rotation (`acs-gateway reseal`).

use serde_json::json;
use sqlx::types::Json;

use super::{
    ACS_PURPOSE, POLICY_PURPOSE, TenantStore, notify,
    row::{StoredAcsCredential, TenantRow},
};
use crate::{
    RegistryError,
    audit::{self, Action, Actor, Change},
    domain::{AcsCredential, Tenant},
    notice::Notice,
    sealing::{SealContext, SealError, StoredSecret},
};

impl TenantStore {
    /// Seals every stored secret again under the keyring's first key (after a key rotation); returns
    /// how many tenants changed. Fails without writing anything if any secret does not open.
    pub async fn reseal_all(&self, actor: &Actor) -> Result<usize, RegistryError> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<TenantRow> =
            sqlx::query_as(concat!("SELECT ", columns!(), " FROM tenants ORDER BY id FOR UPDATE"))
                .fetch_all(&mut *tx)
                .await?;
        let mut changed = 0;
        for row in rows {
            let tenant = Tenant::try_from(row)?;
            let id = tenant.id.as_uuid();
            let acs_context = SealContext { tenant: id, purpose: ACS_PURPOSE };
            let reseal = |s: StoredSecret, purpose| -> Result<StoredSecret, SealError> {
                let context = SealContext { tenant: id, purpose };
                Ok(self.keyring.reseal(&s, context)?.unwrap_or(s))
            };
            let credential = match tenant.acs.credential.clone() {
                AcsCredential::AccessKey(s) => AcsCredential::AccessKey(reseal(s, acs_context.purpose)?),
                AcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
                    AcsCredential::ClientSecret {
                        tenant_id,
                        client_id,
                        client_secret: reseal(client_secret, ACS_PURPOSE)?,
                    }
                }
            };
            let authorization =
                tenant.authorization.clone().try_map_secrets(|s| reseal(s, POLICY_PURPOSE))?;
            if credential == tenant.acs.credential && authorization == tenant.authorization {
                continue;
            }
            sqlx::query("UPDATE tenants SET acs_credential = $2, authorization_policy = $3 WHERE id = $1")
                .bind(id)
                .bind(Json(StoredAcsCredential::from(&credential)))
                .bind(Json(&authorization))
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
        let changes = [Change { field: "/tenants".into(), from: None, to: Some(json!(changed)) }];
        audit::record(&mut tx, None, actor, Action::SecretsResealed, &changes).await?;
        notify(&mut tx, &Notice::Everything).await?;
        tx.commit().await?;
        Ok(changed)
    }
}
