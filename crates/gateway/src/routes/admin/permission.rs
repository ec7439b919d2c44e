//! Who may do what in the admin API. Every handler names what it does as a [`Permission`] and asks
//! the [`Caller`] first thing; [`allows`] is the one rule, by role:
//!
//! | role | may |
//! |---|---|
//! | `owner` | everything, including admin keys |
//! | `operator` | tenants, invitations, stats, audit; not admin keys |
//! | `reader` | list and read tenants, their invitations, stats, audit |
//! | `tenant` | its own tenant: read it, its invitations, stats and audit, rotate its ACS credential, and change (by merge patch) only `entra.allowedAppIds` and `authorization` |
//!
//! Invitations are created and revoked by owners and operators only: an invitation connects a
//! tenant to a Microsoft 365 tenant, which a `tenant` key may not change. Listing them shows no
//! link (only its state), so every role may read its tenants' invitations.
//!
//! A refusal is `403 forbidden`; the key itself was checked before (`401`) by [`super::auth`].

use std::{convert::Infallible, future::Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use registry::{
    admin_keys::{AdminKeyScope, AdminPrincipal},
    domain::TenantSlug,
};
use serde_json::Value;

use super::AdminError;

/// What an admin request does, for the rule in [`allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission<'a> {
    CreateTenant,
    ListTenants,
    ReadTenant(&'a TenantSlug),
    /// A merge patch; a `tenant` key's patch is further limited by [`Caller::may_patch`].
    EditTenant(&'a TenantSlug),
    RotateAcs(&'a TenantSlug),
    DeleteTenant(&'a TenantSlug),
    ReadStats(&'a TenantSlug),
    /// The audit trail of one tenant, or of everything (`None`).
    ReadAudit(Option<&'a TenantSlug>),
    ManageAdminKeys,
    /// List a tenant's invitations (their states; never a link).
    ReadInvitations(&'a TenantSlug),
    /// Create or revoke a tenant's invitations.
    ManageInvitations(&'a TenantSlug),
}

impl Permission<'_> {
    /// The tenant the call is about, if it is about one.
    fn tenant(&self) -> Option<&TenantSlug> {
        match *self {
            Self::ReadTenant(slug)
            | Self::EditTenant(slug)
            | Self::RotateAcs(slug)
            | Self::DeleteTenant(slug)
            | Self::ReadStats(slug)
            | Self::ReadAudit(Some(slug))
            | Self::ReadInvitations(slug)
            | Self::ManageInvitations(slug) => Some(slug),
            Self::CreateTenant | Self::ListTenants | Self::ReadAudit(None) | Self::ManageAdminKeys => None,
        }
    }

    /// What is refused, in words for the `detail` of the 403.
    fn describe(&self) -> &'static str {
        match self {
            Self::CreateTenant => "create tenants",
            Self::ListTenants => "list tenants",
            Self::ReadTenant(_) => "read this tenant",
            Self::EditTenant(_) => "change this tenant",
            Self::RotateAcs(_) => "replace this tenant's ACS connection",
            Self::DeleteTenant(_) => "delete tenants",
            Self::ReadStats(_) => "read this tenant's statistics",
            Self::ReadAudit(Some(_)) => "read this tenant's audit events",
            Self::ReadAudit(None) => "read every tenant's audit events",
            Self::ManageAdminKeys => "manage admin keys",
            Self::ReadInvitations(_) => "read this tenant's invitations",
            Self::ManageInvitations(_) => "create or revoke invitations",
        }
    }
}

/// The rule: whether a key of `scope` may do `permission`.
pub fn allows(scope: &AdminKeyScope, permission: Permission<'_>) -> bool {
    use Permission as P;
    match scope {
        AdminKeyScope::Owner => true,
        AdminKeyScope::Operator => permission != P::ManageAdminKeys,
        AdminKeyScope::Reader => {
            matches!(
                permission,
                P::ListTenants | P::ReadTenant(_) | P::ReadStats(_) | P::ReadAudit(_) | P::ReadInvitations(_)
            )
        }
        AdminKeyScope::Tenant(own) => {
            let own_tenant = permission.tenant() == Some(own);
            own_tenant
                && matches!(
                    permission,
                    P::ReadTenant(_)
                        | P::EditTenant(_)
                        | P::RotateAcs(_)
                        | P::ReadStats(_)
                        | P::ReadAudit(_)
                        | P::ReadInvitations(_)
                )
        }
    }
}

/// The fields of a merge patch a `tenant` key may change.
const TENANT_KEY_PATCHABLE: &str = "/entra/allowedAppIds and /authorization";

/// The admin key of the request, as `auth::require_admin_key` found it.
pub struct Caller(Option<AdminPrincipal>);

impl Caller {
    /// `Ok` when the key's role allows `permission`, else `403 forbidden` saying what was refused.
    pub fn require(&self, permission: Permission<'_>) -> Result<(), AdminError> {
        let Some(principal) = &self.0 else {
            return Err(AdminError::Unauthorized("missing admin key (Authorization: Bearer <key>)"));
        };
        if allows(&principal.scope, permission) {
            return Ok(());
        }
        let role = principal.scope.role();
        Err(AdminError::Forbidden(match (principal.scope.tenant(), permission.tenant()) {
            (Some(own), Some(other)) if own != other => {
                format!("this key is bound to tenant {own} and may not act on tenant {other}")
            }
            _ => format!("a key with role {role} may not {}", permission.describe()),
        }))
    }

    /// The tenant a `tenant` key is bound to.
    pub fn bound_tenant(&self) -> Option<&TenantSlug> {
        self.0.as_ref().and_then(|principal| principal.scope.tenant())
    }

    /// For a `tenant` key, refuses a merge patch that touches anything but `entra.allowedAppIds` and
    /// `authorization`, naming the first such field; other keys may patch every field.
    pub fn may_patch(&self, patch: &Value) -> Result<(), AdminError> {
        if self.bound_tenant().is_none() {
            return Ok(());
        }
        match refused_field(patch) {
            None => Ok(()),
            Some(field) => Err(AdminError::Forbidden(format!(
                "a key with role tenant may change only {TENANT_KEY_PATCHABLE}, not {field}"
            ))),
        }
    }
}

/// The first field of `patch` outside what a `tenant` key may change, as a JSON pointer.
fn refused_field(patch: &Value) -> Option<String> {
    // Not an object: not a merge patch, refused as such by the decoding that follows.
    let Value::Object(fields) = patch else { return None };
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("authorization", _) => {}
            ("entra", Value::Object(entra)) => {
                if let Some(other) = entra.keys().find(|key| *key != "allowedAppIds") {
                    return Some(format!("/entra/{}", pointer_token(other)));
                }
            }
            (other, _) => return Some(format!("/{}", pointer_token(other))),
        }
    }
    None
}

fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

impl FromRequest for Caller {
    type Error = Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(request.extensions().get::<AdminPrincipal>().cloned())))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn slug(value: &str) -> TenantSlug {
        TenantSlug::parse(value).unwrap()
    }

    #[test]
    fn a_tenant_key_acts_only_on_its_own_tenant() {
        let (own, other) = (slug("fabrikam"), slug("contoso"));
        let scope = AdminKeyScope::Tenant(own.clone());
        assert!(allows(&scope, Permission::ReadTenant(&own)));
        assert!(allows(&scope, Permission::ReadAudit(Some(&own))));
        assert!(!allows(&scope, Permission::ReadTenant(&other)));
        assert!(!allows(&scope, Permission::ReadAudit(None)));
        assert!(!allows(&scope, Permission::DeleteTenant(&own)));
        assert!(!allows(&scope, Permission::ListTenants));
    }

    #[test]
    fn only_an_owner_manages_admin_keys() {
        assert!(allows(&AdminKeyScope::Owner, Permission::ManageAdminKeys));
        for scope in [AdminKeyScope::Operator, AdminKeyScope::Reader, AdminKeyScope::Tenant(slug("fabrikam"))]
        {
            assert!(!allows(&scope, Permission::ManageAdminKeys), "{scope:?}");
        }
    }

    #[test]
    fn owners_and_operators_manage_invitations_and_every_role_reads_its_tenants() {
        let (own, other) = (slug("fabrikam"), slug("contoso"));
        for scope in [AdminKeyScope::Owner, AdminKeyScope::Operator] {
            assert!(allows(&scope, Permission::ManageInvitations(&own)), "{scope:?}");
        }
        for scope in [AdminKeyScope::Reader, AdminKeyScope::Tenant(own.clone())] {
            assert!(!allows(&scope, Permission::ManageInvitations(&own)), "{scope:?}");
            assert!(allows(&scope, Permission::ReadInvitations(&own)), "{scope:?}");
        }
        assert!(!allows(&AdminKeyScope::Tenant(own), Permission::ReadInvitations(&other)));
    }

    #[test]
    fn a_tenant_keys_patch_may_touch_only_app_ids_and_the_b_policy() {
        assert_eq!(
            refused_field(&json!({"entra": {"allowedAppIds": []}, "authorization": {"type": "none"}})),
            None
        );
        assert_eq!(refused_field(&json!({"displayName": "x"})).as_deref(), Some("/displayName"));
        assert_eq!(refused_field(&json!({"entra": {"tenantId": "x"}})).as_deref(), Some("/entra/tenantId"));
        assert_eq!(refused_field(&json!({"entra": null})).as_deref(), Some("/entra"));
        assert_eq!(refused_field(&json!({"a/b": 1})).as_deref(), Some("/a~1b"));
    }
}
