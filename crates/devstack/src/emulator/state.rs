//! The state one emulator shares between its workers, the handlers and [`super::RunningEmulator`].

use std::sync::RwLock;

use uuid::Uuid;

use super::{
    EmulatorConfig, acs_token::AcsTokenSigner, faults::Faults, identities::IdentityStore, keys::EntraKeys,
    refusals::Refusals, stats::Counters, stats::Stats,
};

pub(crate) struct Shared {
    pub(crate) access_key: Vec<u8>,
    pub(crate) resource_id: Uuid,
    pub(crate) keys: EntraKeys,
    pub(crate) counters: Counters,
    pub(crate) identities: IdentityStore,
    pub(crate) tokens: AcsTokenSigner,
    pub(crate) refusals: Refusals,
    faults: RwLock<Faults>,
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            keys: EntraKeys::new(&config.entra_url, config.clock)?,
            tokens: AcsTokenSigner::new(config.resource_id),
            identities: IdentityStore::default(),
            counters: Counters::default(),
            refusals: Refusals::default(),
            faults: RwLock::new(config.faults),
            access_key: config.access_key,
            resource_id: config.resource_id,
        })
    }

    pub(crate) fn faults(&self) -> Faults {
        self.faults.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = faults;
    }

    pub(crate) fn stats(&self) -> Stats {
        self.counters.snapshot(self.keys.fetches())
    }

    pub(crate) fn reset_stats(&self) {
        self.counters.reset();
        self.keys.reset_fetches();
    }
}
