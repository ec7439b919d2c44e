//! Merge patches (RFC 7396) over the tenant's mutable fields.

use registry::{domain::TenantSlug, view::TenantView};
use serde_json::{Map, Value};

use super::AdminError;
use crate::problem::FieldError;

/// The tenant's mutable fields as a document a merge patch applies to.
pub fn patchable(view: &TenantView) -> Value {
    let mut document = serde_json::to_value(view).unwrap_or_default();
    if let Some(map) = document.as_object_mut() {
        for read_only in ["slug", "acs", "createdAt", "updatedAt", "version"] {
            map.remove(read_only);
        }
        if let Some(Value::Object(policy)) = map.get_mut("authorization") {
            policy.remove("hs256SecretFingerprint");
            policy.remove("secretFingerprint");
        }
    }
    document
}

pub fn refuse_read_only(patch: &Map<String, Value>, slug: &TenantSlug) -> Result<(), AdminError> {
    let mut errors = Vec::new();
    let mut refuse = |field: &str, message: &str| {
        errors.push(FieldError { field: field.to_owned(), message: message.to_owned() });
    };
    if patch.get("slug").is_some_and(|s| s.as_str() != Some(slug.as_str())) {
        refuse("/slug", "is immutable");
    }
    if patch.contains_key("acs") {
        refuse("/acs", "is changed with PUT /admin/v1/tenants/{slug}/acs");
    }
    for read_only in ["createdAt", "updatedAt", "version"] {
        if patch.contains_key(read_only) {
            refuse(&format!("/{read_only}"), "is read-only");
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(AdminError::Validation(errors)) }
}

/// A new authorization `type` or Entra `authority` starts from an empty object, so fields of the old
/// kind do not linger. Returns whether the authorization type is kept (so its secret may be too).
pub fn replace_on_type_change(document: &mut Value, patch: &Map<String, Value>) -> bool {
    let new_type = patch.get("authorization").and_then(|a| a.get("type"));
    let kept = new_type.is_none_or(|t| Some(t) == document.pointer("/authorization/type"));
    if !kept && let Some(policy) = document.get_mut("authorization") {
        *policy = Value::Object(Map::new());
    }
    let new_authority = patch.get("entra").and_then(|e| e.get("authority"));
    if new_authority.is_some_and(|a| Some(a) != document.pointer("/entra/authority"))
        && let Some(Value::Object(entra)) = document.get_mut("entra")
    {
        entra.remove("tenantId");
        entra.remove("allowedTenantIds");
    }
    kept
}
