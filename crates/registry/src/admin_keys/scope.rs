//! What an admin key may do: its [`Role`], and for a `tenant` key the one tenant it is bound to.

use std::{fmt, str::FromStr};

use crate::domain::{InvalidValue, TenantSlug};

/// An admin key's role, as stored and as written in the API: `owner`, `operator`, `reader`, `tenant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including admin keys.
    Owner,
    /// Tenants, invitations, stats and audit; no key management.
    Operator,
    /// Reads tenants, stats and audit.
    Reader,
    /// One tenant: read it, its stats and audit; rotate its ACS credential; edit its allowed app ids
    /// and its B policy.
    Tenant,
}

impl Role {
    pub const ALL: [Role; 4] = [Self::Owner, Self::Operator, Self::Reader, Self::Tenant];

    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or(InvalidValue::new("must be one of owner, operator, reader, tenant"))
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Operator => "operator",
            Self::Reader => "reader",
            Self::Tenant => "tenant",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = InvalidValue;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

/// A role with the tenant binding it needs: a `tenant` key names exactly one tenant, no other
/// key names one. Built only by [`AdminKeyScope::new`], so the pair is never inconsistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminKeyScope {
    Owner,
    Operator,
    Reader,
    Tenant(TenantSlug),
}

/// Why a role and a tenant do not go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("is required for role tenant")]
    TenantRequired,
    #[error("is only allowed for role tenant")]
    TenantNotAllowed,
}

impl AdminKeyScope {
    pub fn new(role: Role, tenant: Option<TenantSlug>) -> Result<Self, ScopeError> {
        match (role, tenant) {
            (Role::Tenant, Some(slug)) => Ok(Self::Tenant(slug)),
            (Role::Tenant, None) => Err(ScopeError::TenantRequired),
            (_, Some(_)) => Err(ScopeError::TenantNotAllowed),
            (Role::Owner, None) => Ok(Self::Owner),
            (Role::Operator, None) => Ok(Self::Operator),
            (Role::Reader, None) => Ok(Self::Reader),
        }
    }

    pub fn role(&self) -> Role {
        match self {
            Self::Owner => Role::Owner,
            Self::Operator => Role::Operator,
            Self::Reader => Role::Reader,
            Self::Tenant(_) => Role::Tenant,
        }
    }

    /// The tenant a `tenant` key is bound to.
    pub fn tenant(&self) -> Option<&TenantSlug> {
        match self {
            Self::Tenant(slug) => Some(slug),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_parses_from_its_own_name_and_nothing_else_does() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        for other in ["", "Owner", "admin", "owner ", "tenants"] {
            assert!(Role::parse(other).is_err(), "{other:?}");
        }
    }

    #[test]
    fn only_a_tenant_role_is_bound_to_a_tenant() {
        let slug = TenantSlug::parse("fabrikam").unwrap();
        assert_eq!(AdminKeyScope::new(Role::Tenant, Some(slug.clone())).unwrap().tenant(), Some(&slug));
        assert_eq!(AdminKeyScope::new(Role::Tenant, None), Err(ScopeError::TenantRequired));
        for role in [Role::Owner, Role::Operator, Role::Reader] {
            assert_eq!(AdminKeyScope::new(role, Some(slug.clone())), Err(ScopeError::TenantNotAllowed));
            assert_eq!(AdminKeyScope::new(role, None).unwrap().role(), role);
        }
    }
}
