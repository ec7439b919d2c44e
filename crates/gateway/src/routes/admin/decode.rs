//! The admin API's body decoding without HTTP or a database: what `create_tenant` and `patch_tenant`
//! do between the body and the domain types. The handlers call [`new_tenant`] and [`changes`]; the
//! fuzz targets (`fuzz/`) call [`create`] and [`patch`], which start from the body's bytes as
//! `parse_body` does after its Content-Type check. If-Match and the repository stay with the handlers.

use registry::domain::{NewTenant, Tenant, TenantChanges, Transport};
use serde_json::Value;

use super::{
    AdminError,
    body::{from_value, validation},
    input::{self, CreateTenantRequest, Problems, StoredSecrets, TenantDocument},
    merge::{patchable, refuse_read_only, replace_on_type_change},
    view::TenantView,
};

/// The body of `POST /admin/v1/tenants` as the tenant to create.
pub fn create(body: &[u8], transport: Transport) -> Result<NewTenant, AdminError> {
    new_tenant(from_value(json(body)?)?, transport)
}

/// A create request, read from its body, as the tenant to create.
pub fn new_tenant(body: CreateTenantRequest, transport: Transport) -> Result<NewTenant, AdminError> {
    let mut p = Problems::default();
    let slug = input::slug(&mut p, &body.slug);
    let display_name = input::display_name(&mut p, &body.display_name);
    let status = input::status(&mut p, body.status.as_deref());
    let entra = input::entra(&mut p, &body.entra, status);
    let acs = input::acs(&mut p, "/acs", body.acs, transport);
    let authorization = input::authorization(&mut p, body.authorization, None, transport);
    let limits = input::limits(&mut p, body.limits.as_ref());
    p.into_result().map_err(AdminError::Validation)?;
    let (
        Some(slug),
        Some(display_name),
        Some(status),
        Some(entra),
        Some(acs),
        Some(authorization),
        Some(limits),
    ) = (slug, display_name, status, entra, acs, authorization, limits)
    else {
        return Err(AdminError::Unexpected);
    };
    Ok(NewTenant { slug, display_name, status, entra, acs, authorization, limits })
}

/// The body of `PATCH /admin/v1/tenants/{slug}` (a merge patch) applied to `current`.
pub fn patch(current: &Tenant, body: &[u8], transport: Transport) -> Result<TenantChanges, AdminError> {
    changes(current, json(body)?, transport)
}

/// A merge patch, read from its body, applied to `current`.
pub fn changes(current: &Tenant, patch: Value, transport: Transport) -> Result<TenantChanges, AdminError> {
    let Value::Object(patch) = patch else {
        return Err(validation("", "must be a JSON object (a merge patch)"));
    };
    refuse_read_only(&patch, &current.slug)?;
    let mut document = patchable(&TenantView::from(current));
    let kept_type = replace_on_type_change(&mut document, &patch);
    json_patch::merge(&mut document, &Value::Object(patch));
    let merged: TenantDocument = from_value(document)?;
    let mut p = Problems::default();
    let display_name = input::display_name(&mut p, &merged.display_name);
    let status = input::status(&mut p, Some(&merged.status));
    let entra = input::entra(&mut p, &merged.entra, status);
    let kept = kept_type.then(|| current.authorization.stored()).flatten();
    let authorization = input::authorization(&mut p, merged.authorization, kept.as_ref(), transport);
    let limits = input::limits(&mut p, Some(&merged.limits));
    p.into_result().map_err(AdminError::Validation)?;
    let (Some(display_name), Some(status), Some(entra), Some(authorization), Some(limits)) =
        (display_name, status, entra, authorization, limits)
    else {
        return Err(AdminError::Unexpected);
    };
    Ok(TenantChanges { display_name, status, entra, authorization, limits })
}

/// What `parse_body` does after the Content-Type check.
fn json(body: &[u8]) -> Result<Value, AdminError> {
    serde_json::from_slice(body)
        .map_err(|e| AdminError::InvalidRequest(format!("body is not valid JSON: {e}")))
}
