//! Per-user refusals: the answers ACS gives for a user whose Teams licence or organisation does not
//! let them use Teams. No A1 can produce them, so they are switched on per user (Entra object id) with
//! `POST /dev/users/{oid}/refusal` or [`super::RunningEmulator::set_refusal`].

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A refusal of one user, named by ACS's error code; each is a 403 `{"error": {"code", "message"}}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Refusal {
    /// The user has no Teams licence, or Teams is switched off in it. Code and message as Microsoft
    /// Learn's Teams Phone extensibility troubleshooting page shows ACS answering.
    UserLicenseNotPresentForbidden,
    /// The user's organisation has Teams turned off for the user's licence type. Teams' own sign-in
    /// code; that ACS answers it is inferred, and the message is the emulator's.
    TeamsDisabledForTenantForbidden,
}

impl Refusal {
    pub const ALL: [Self; 2] = [Self::UserLicenseNotPresentForbidden, Self::TeamsDisabledForTenantForbidden];

    /// ACS's code, as sent in the error body.
    pub fn code(self) -> &'static str {
        match self {
            Self::UserLicenseNotPresentForbidden => "UserLicenseNotPresentForbidden",
            Self::TeamsDisabledForTenantForbidden => "TeamsDisabledForTenantForbidden",
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::UserLicenseNotPresentForbidden => "User Login. Teams is disabled in user licenses",
            Self::TeamsDisabledForTenantForbidden => "User Login. Teams is disabled for the user's tenant",
        }
    }
}

/// Where the emulator learns which users hold no Teams licence: the dev issuer's test users
/// (`POST /dev/users` with `"teamsLicensed": false`), linked with
/// [`super::RunningEmulator::refuse_unlicensed_users_of`]. Such a user is refused with
/// [`Refusal::UserLicenseNotPresentForbidden`] unless a refusal was set for them explicitly.
pub trait TeamsLicences: Send + Sync {
    /// `Some(false)` for a known user without a Teams licence; `None` for a user it does not know.
    fn teams_licensed(&self, oid: Uuid) -> Option<bool>;
}

/// The body of `POST /dev/users/{oid}/refusal`, and of its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RefusalSetting {
    pub(crate) code: Refusal,
}

/// The users refused now, by Entra object id, and the directory of licences, if linked.
#[derive(Default)]
pub(crate) struct Refusals(RwLock<HashMap<Uuid, Refusal>>, RwLock<Option<Arc<dyn TeamsLicences>>>);

impl Refusals {
    /// The explicit refusal of the user if any, else the licence refusal of an unlicensed user.
    pub(crate) fn of(&self, oid: Uuid) -> Option<Refusal> {
        let explicit = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&oid).copied();
        explicit.or_else(|| {
            let licences = self.1.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            let unlicensed =
                licences.as_ref().and_then(|licences| licences.teams_licensed(oid)) == Some(false);
            unlicensed.then_some(Refusal::UserLicenseNotPresentForbidden)
        })
    }

    /// Consults `licences` from the next request on.
    pub(crate) fn link(&self, licences: Arc<dyn TeamsLicences>) {
        *self.1.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(licences);
    }

    /// Refuses the user from the next request on; `None` serves them again.
    pub(crate) fn set(&self, oid: Uuid, refusal: Option<Refusal>) {
        let mut users = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        match refusal {
            Some(refusal) => users.insert(oid, refusal),
            None => users.remove(&oid),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_the_refusal_by_acs_code_and_refuse_anything_else() {
        for refusal in Refusal::ALL {
            let body = format!(r#"{{"code": "{}"}}"#, refusal.code());
            assert_eq!(serde_json::from_str::<RefusalSetting>(&body).unwrap().code, refusal);
        }
        assert!(serde_json::from_str::<RefusalSetting>(r#"{"code": "Forbidden"}"#).is_err());
        assert!(
            serde_json::from_str::<RefusalSetting>(r#"{"code": "UserLicenseNotPresentForbidden", "x": 1}"#)
                .is_err()
        );
    }

    #[test]
    fn a_refusal_is_per_user_and_can_be_lifted() {
        let (refusals, refused, other) = (Refusals::default(), Uuid::new_v4(), Uuid::new_v4());
        refusals.set(refused, Some(Refusal::UserLicenseNotPresentForbidden));
        assert_eq!(refusals.of(refused), Some(Refusal::UserLicenseNotPresentForbidden));
        assert_eq!(refusals.of(other), None);
        refusals.set(refused, None);
        assert_eq!(refusals.of(refused), None);
    }

    struct Unlicensed(Uuid);

    impl TeamsLicences for Unlicensed {
        fn teams_licensed(&self, oid: Uuid) -> Option<bool> {
            (oid == self.0).then_some(false)
        }
    }

    #[test]
    fn an_unlicensed_user_of_the_linked_directory_is_refused_unless_a_refusal_was_set() {
        let (refusals, unlicensed, other) = (Refusals::default(), Uuid::new_v4(), Uuid::new_v4());
        refusals.link(Arc::new(Unlicensed(unlicensed)));
        assert_eq!(refusals.of(unlicensed), Some(Refusal::UserLicenseNotPresentForbidden));
        assert_eq!(refusals.of(other), None);
        refusals.set(unlicensed, Some(Refusal::TeamsDisabledForTenantForbidden));
        assert_eq!(refusals.of(unlicensed), Some(Refusal::TeamsDisabledForTenantForbidden));
    }
}
