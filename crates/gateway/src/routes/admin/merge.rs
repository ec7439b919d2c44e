//! Merge patches (RFC 7396) over the tenant's mutable fields.

use registry::domain::TenantSlug;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{AdminError, view::TenantView};
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

/// A JSON merge patch (RFC 7396) of a tenant's mutable fields: a member present replaces the current
/// value, objects merge member by member, and `null` removes an optional member (a required one is
/// refused). A new `authorization.type` or `entra.authority` starts that object afresh. `slug` is
/// accepted only unchanged; `acs` (see `PUT .../acs`), `createdAt`, `updatedAt` and `version` are
/// refused.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "describes the PATCH body in the OpenAPI document; the patch is read as JSON")]
pub struct TenantPatch {
    slug: Option<String>,
    #[schema(example = "Fabrikam Inc.")]
    display_name: Option<String>,
    status: Option<StatusName>,
    entra: Option<EntraPatch>,
    authorization: Option<AuthorizationPatch>,
    limits: Option<LimitsPatch>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(dead_code, reason = "OpenAPI only")]
enum StatusName {
    Pending,
    Active,
    Suspended,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "OpenAPI only")]
struct EntraPatch {
    /// `tenant` or `organizations`
    authority: Option<String>,
    tenant_id: Option<String>,
    allowed_tenant_ids: Option<Vec<String>>,
    allowed_app_ids: Option<Vec<String>>,
}

/// The members of the policy's `type` (see `CreateTenantRequest`); the write-only secrets are kept
/// when the type is unchanged and they are not sent.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "OpenAPI only")]
struct AuthorizationPatch {
    /// `entra`, `jwt`, `webhook` or `none`
    r#type: Option<String>,
    audience: Option<String>,
    required_scopes: Option<Vec<String>>,
    issuer: Option<String>,
    jwks_uri: Option<String>,
    hs256_secret: Option<String>,
    user_claim: Option<String>,
    #[schema(value_type = Option<Object>)]
    required_claims: Option<()>,
    url: Option<String>,
    secret: Option<String>,
    timeout_ms: Option<u32>,
    cache_seconds: Option<u32>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "OpenAPI only")]
struct LimitsPatch {
    exchanges_per_second: Option<u32>,
    burst: Option<u32>,
}
