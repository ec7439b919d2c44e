//! Communication identities (`8:acs:<resource>_<guid>`), kept in memory.

use std::{collections::HashMap, sync::Mutex};

use uuid::Uuid;

use super::error::AcsError;

const PREFIX: &str = "8:acs:";

/// An identity's raw id for the given resource.
pub(crate) fn identity_id(resource: Uuid, identity: Uuid) -> String {
    format!("{PREFIX}{resource}_{identity}")
}

/// Reads a (percent-decoded) `{id}` path segment. Another resource's identity is 401
/// `IdentityNotOwned`, as ACS answers; something not shaped like an ACS identity is 400
/// `ValidationError` (target `id`); a suffix that cannot be one of ours is 404 `IdentityNotFound`.
pub(crate) fn parse_identity(raw: &str, resource: Uuid) -> Result<Uuid, AcsError> {
    let malformed = || AcsError::validation("id", "Provided identity has invalid format.");
    let (owner, suffix) =
        raw.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_')).ok_or_else(malformed)?;
    let owner = Uuid::parse_str(owner).map_err(|_| malformed())?;
    if owner != resource {
        return Err(AcsError::identity_not_owned());
    }
    Uuid::parse_str(suffix).map_err(|_| AcsError::identity_not_found())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdentityState {
    Active,
    /// Kept so that a deleted identity stays deleted (404) rather than being reusable.
    Deleted,
}

#[derive(Default)]
pub(crate) struct IdentityStore {
    identities: Mutex<HashMap<Uuid, IdentityState>>,
}

impl IdentityStore {
    pub(crate) fn create(&self) -> Uuid {
        let identity = Uuid::new_v4();
        self.lock().insert(identity, IdentityState::Active);
        identity
    }

    /// 404 `IdentityNotFound` unless the identity exists and is not deleted.
    pub(crate) fn require_active(&self, identity: Uuid) -> Result<(), AcsError> {
        match self.lock().get(&identity) {
            Some(IdentityState::Active) => Ok(()),
            _ => Err(AcsError::identity_not_found()),
        }
    }

    /// Issued tokens are not tracked (nothing in the emulator consumes them), so revoking only
    /// checks that the identity is there.
    pub(crate) fn revoke(&self, identity: Uuid) -> Result<(), AcsError> {
        self.require_active(identity)
    }

    pub(crate) fn delete(&self, identity: Uuid) -> Result<(), AcsError> {
        match self.lock().get_mut(&identity) {
            Some(state @ IdentityState::Active) => {
                *state = IdentityState::Deleted;
                Ok(())
            }
            _ => Err(AcsError::identity_not_found()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, IdentityState>> {
        self.identities.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_ids_round_trip_for_their_own_resource() {
        let (resource, identity) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(parse_identity(&identity_id(resource, identity), resource), Ok(identity));
    }

    #[test]
    fn another_resources_identity_is_not_owned() {
        let id = identity_id(Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(parse_identity(&id, Uuid::new_v4()), Err(AcsError::identity_not_owned()));
    }

    #[test]
    fn ids_not_shaped_like_acs_identities_are_malformed() {
        let resource = Uuid::new_v4();
        for raw in ["", "8:acs:", "8:orgid:123", &format!("8:acs:{resource}"), "8:acs:nope_x"] {
            let error = parse_identity(raw, resource).unwrap_err();
            assert_eq!(error.code(), "ValidationError", "{raw:?}");
        }
    }

    #[test]
    fn deleted_identities_stay_deleted() {
        let store = IdentityStore::default();
        let identity = store.create();
        assert_eq!(store.revoke(identity), Ok(()));
        assert_eq!(store.delete(identity), Ok(()));
        assert_eq!(store.require_active(identity), Err(AcsError::identity_not_found()));
        assert_eq!(store.revoke(identity), Err(AcsError::identity_not_found()));
        assert_eq!(store.delete(identity), Err(AcsError::identity_not_found()));
    }
}
