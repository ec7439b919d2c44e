//! The directories behind the browser flows: test users (`POST /dev/users`), the admin consents
//! granted per (tenant, client), and whether ACS's first-party service principal exists in a tenant.
//!
//! Everything is in memory, like the rest of the issuer. Every tenant has ACS's service principal
//! until `POST /dev/tenants/{tenant}/service-principal {"acs": false}` removes it.

use std::{
    collections::HashSet,
    sync::{PoisonError, RwLock},
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One test user of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestUser {
    pub tenant: Uuid,
    pub oid: Uuid,
    pub name: String,
    /// The sign-in name: `preferred_username` in id tokens, `upn` in access tokens, and what
    /// `login_hint` names. `user-{first 8 of oid}@dev-{first 8 of tenant}.onmicrosoft.com`.
    pub username: String,
    /// A Global Administrator (may grant tenant-wide admin consent).
    pub admin: bool,
    /// Without a Teams licence, the ACS emulator linked to this issuer refuses the user's exchanges.
    pub teams_licensed: bool,
}

impl TestUser {
    pub fn new(tenant: Uuid, oid: Uuid, name: String, admin: bool, teams_licensed: bool) -> Self {
        let username = format!(
            "user-{}@dev-{}.onmicrosoft.com",
            &oid.simple().to_string()[..8],
            &tenant.simple().to_string()[..8]
        );
        Self { tenant, oid, name, username, admin, teams_licensed }
    }
}

/// Why a test user could not be added.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("a user with oid {0} already exists")]
    DuplicateUser(Uuid),
}

/// Users, consents and service principals.
#[derive(Default)]
pub struct Directory {
    /// In creation order, so sign-in pages list users predictably.
    users: RwLock<Vec<TestUser>>,
    consents: RwLock<HashSet<(Uuid, Uuid)>>,
    /// Tenants whose ACS service principal was removed.
    without_acs: RwLock<HashSet<Uuid>>,
}

impl Directory {
    pub fn add_user(&self, user: TestUser) -> Result<TestUser, DirectoryError> {
        let mut users = self.users.write().unwrap_or_else(PoisonError::into_inner);
        if users.iter().any(|existing| existing.oid == user.oid) {
            return Err(DirectoryError::DuplicateUser(user.oid));
        }
        users.push(user.clone());
        Ok(user)
    }

    /// The users of `tenant`, or of every tenant for `None`, in creation order.
    pub fn users(&self, tenant: Option<Uuid>) -> Vec<TestUser> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.iter().filter(|user| tenant.is_none_or(|tenant| user.tenant == tenant)).cloned().collect()
    }

    pub fn user(&self, oid: Uuid) -> Option<TestUser> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users.iter().find(|user| user.oid == oid).cloned()
    }

    /// The user a `login_hint` names: their username (any letter case) or their oid.
    pub fn user_by_hint(&self, hint: &str) -> Option<TestUser> {
        let hint = hint.trim();
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        users
            .iter()
            .find(|user| user.username.eq_ignore_ascii_case(hint) || user.oid.to_string() == hint)
            .cloned()
    }

    /// Records tenant-wide admin consent of `tenant` for `client`.
    pub fn grant_consent(&self, tenant: Uuid, client: Uuid) {
        self.consents.write().unwrap_or_else(PoisonError::into_inner).insert((tenant, client));
    }

    pub fn has_consent(&self, tenant: Uuid, client: Uuid) -> bool {
        self.consents.read().unwrap_or_else(PoisonError::into_inner).contains(&(tenant, client))
    }

    /// Adds or removes ACS's first-party service principal in `tenant`.
    pub fn set_acs_service_principal(&self, tenant: Uuid, present: bool) {
        let mut without = self.without_acs.write().unwrap_or_else(PoisonError::into_inner);
        if present {
            without.remove(&tenant);
        } else {
            without.insert(tenant);
        }
    }

    pub fn has_acs_service_principal(&self, tenant: Uuid) -> bool {
        !self.without_acs.read().unwrap_or_else(PoisonError::into_inner).contains(&tenant)
    }

    /// Whether the test user `oid` holds a Teams licence; `None` for someone not in the directory.
    pub fn teams_licensed(&self, oid: Uuid) -> Option<bool> {
        self.user(oid).map(|user| user.teams_licensed)
    }
}

/// The body of `POST /dev/users`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub tenant: String,
    #[serde(default)]
    pub oid: Option<String>,
    pub name: String,
    #[serde(default)]
    pub admin: bool,
    #[serde(default = "licensed_by_default")]
    pub teams_licensed: bool,
}

fn licensed_by_default() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_listed_per_tenant_in_creation_order_and_found_by_username_or_oid() {
        let directory = Directory::default();
        let (home, other) = (Uuid::new_v4(), Uuid::new_v4());
        let first = directory.add_user(TestUser::new(home, Uuid::new_v4(), "A".into(), true, true)).unwrap();
        let second =
            directory.add_user(TestUser::new(home, Uuid::new_v4(), "B".into(), false, false)).unwrap();
        directory.add_user(TestUser::new(other, Uuid::new_v4(), "C".into(), false, true)).unwrap();

        assert_eq!(directory.users(Some(home)), vec![first.clone(), second.clone()]);
        assert_eq!(directory.users(None).len(), 3);
        assert_eq!(directory.user_by_hint(&first.username.to_uppercase()), Some(first.clone()));
        assert_eq!(directory.user_by_hint(&second.oid.to_string()), Some(second.clone()));
        assert_eq!(directory.teams_licensed(second.oid), Some(false));
        assert_eq!(directory.teams_licensed(Uuid::new_v4()), None);
        assert_eq!(directory.add_user(first.clone()), Err(DirectoryError::DuplicateUser(first.oid)));
    }

    #[test]
    fn consent_is_per_tenant_and_client_and_the_acs_principal_can_be_removed_and_restored() {
        let directory = Directory::default();
        let (tenant, client) = (Uuid::new_v4(), Uuid::new_v4());
        directory.grant_consent(tenant, client);
        assert!(directory.has_consent(tenant, client));
        assert!(!directory.has_consent(Uuid::new_v4(), client));

        assert!(directory.has_acs_service_principal(tenant));
        directory.set_acs_service_principal(tenant, false);
        assert!(!directory.has_acs_service_principal(tenant));
        directory.set_acs_service_principal(tenant, true);
        assert!(directory.has_acs_service_principal(tenant));
    }
}
