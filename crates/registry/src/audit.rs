//! Audit events: who changed what, when. Written in the same transaction as the change.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{RegistryError, domain::TenantSlug};

/// Who made a change: an admin key's name (or the CLI), and the request it came in.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn cli(command: &str) -> Self {
        Self { name: format!("cli:{command}"), request_id: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    TenantCreated,
    TenantUpdated,
    TenantAcsRotated,
    TenantDeleted,
    AdminKeyCreated,
    AdminKeyRevoked,
    SecretsResealed,
    InvitationCreated,
    InvitationRevoked,
    /// A customer's admin connected the tenant through an invitation (the consent flow).
    InvitationConnected,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::TenantCreated => "tenant.created",
            Self::TenantUpdated => "tenant.updated",
            Self::TenantAcsRotated => "tenant.acs_rotated",
            Self::TenantDeleted => "tenant.deleted",
            Self::AdminKeyCreated => "admin_key.created",
            Self::AdminKeyRevoked => "admin_key.revoked",
            Self::SecretsResealed => "secrets.resealed",
            Self::InvitationCreated => "invitation.created",
            Self::InvitationRevoked => "invitation.revoked",
            Self::InvitationConnected => "invitation.connected",
        }
    }
}

/// One changed field: a JSON pointer and its values before and after (never secret values).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Value>,
}

/// The leaf-level differences between two JSON documents; arrays compare as whole values.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    diff_into(&mut changes, String::new(), Some(before), Some(after));
    changes
}

fn diff_into(out: &mut Vec<Change>, path: String, before: Option<&Value>, after: Option<&Value>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let pointer = format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"));
                diff_into(out, pointer, a.get(key), b.get(key));
            }
        }
        (a, b) if a != b => out.push(Change { field: path, from: a.cloned(), to: b.cloned() }),
        _ => {}
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub tenant: Option<String>,
    pub changes: Value,
    pub request_id: Option<String>,
}

pub(crate) async fn record(
    conn: &mut PgConnection,
    tenant: Option<(Uuid, &TenantSlug)>,
    actor: &Actor,
    action: Action,
    changes: &[Change],
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, tenant_slug, actor, action, changes, request_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant.map(|(id, _)| id))
    .bind(tenant.map(|(_, slug)| slug.as_str()))
    .bind(&actor.name)
    .bind(action.as_str())
    .bind(sqlx::types::Json(changes))
    .bind(&actor.request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest events first, for one tenant or for all.
pub async fn list(
    pool: &PgPool,
    tenant: Option<&TenantSlug>,
    limit: i64,
) -> Result<Vec<AuditEvent>, RegistryError> {
    let events = sqlx::query_as(
        "SELECT id, occurred_at, actor, action, tenant_slug AS tenant, changes, request_id
         FROM audit_events
         WHERE $1::text IS NULL OR tenant_slug = $1
         ORDER BY id DESC
         LIMIT $2",
    )
    .bind(tenant.map(TenantSlug::as_str))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(events)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_lists_changed_leaves_as_json_pointers() {
        let before =
            json!({"displayName": "A", "entra": {"authority": "tenant", "allowedAppIds": ["x"]}, "gone": 1});
        let after = json!({"displayName": "B", "entra": {"authority": "tenant", "allowedAppIds": ["x", "y"]}, "new": 2});
        let fields: Vec<_> = diff(&before, &after).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["/displayName", "/entra/allowedAppIds", "/gone", "/new"]);
    }

    #[test]
    fn diff_of_equal_documents_is_empty() {
        let doc = json!({"a": {"b": [1, 2]}});
        assert!(diff(&doc, &doc).is_empty());
    }
}
