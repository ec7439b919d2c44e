//! Authorization codes: random, single use, short-lived, and bound to everything the token
//! request must repeat (client, redirect URI, PKCE challenge) and to what it grants (user, scopes,
//! nonce).
//!
//! A code is consumed by its first redemption attempt, successful or not, so a stolen code cannot
//! be replayed nor its verifier guessed at; later attempts get Entra's "already redeemed".

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jose::clock::Clock;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::{directory::TestUser, scopes::Scopes};

/// Entra's codes live about ten minutes.
pub const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Redeemed and expired codes are remembered this long, to answer "already redeemed", then dropped.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// What a code grants and what its redemption must match.
#[derive(Clone, Debug)]
pub struct Grant {
    pub client_id: Uuid,
    pub redirect_uri: String,
    /// The S256 `code_challenge`: base64url(SHA-256(verifier)).
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scopes: Scopes,
    pub user: TestUser,
}

impl Grant {
    /// Whether `verifier` hashes to the challenge (RFC 7636 §4.6, S256).
    pub fn verifier_matches(&self, verifier: &str) -> bool {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == self.code_challenge
    }
}

/// Why a code cannot be redeemed.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeError {
    /// Never issued here (or forgotten long ago).
    Unknown,
    /// Presented before.
    Redeemed,
    /// Older than [`CODE_LIFETIME`].
    Expired,
}

enum Entry {
    Unused { grant: Box<Grant>, issued: Instant },
    Used { issued: Instant },
}

impl Entry {
    fn issued(&self) -> Instant {
        match self {
            Self::Unused { issued, .. } | Self::Used { issued } => *issued,
        }
    }
}

/// The codes issued, by code.
pub struct Codes {
    clock: Clock,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Codes {
    pub fn new(clock: Clock) -> Self {
        Self { clock, entries: Mutex::default() }
    }

    /// Issues a fresh code for `grant`.
    pub fn issue(&self, grant: Grant) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let code = URL_SAFE_NO_PAD.encode(bytes);
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|_, entry| now.saturating_duration_since(entry.issued()) < FORGET_AFTER);
        entries.insert(code.clone(), Entry::Unused { grant: Box::new(grant), issued: now });
        code
    }

    /// Consumes `code`, returning its grant if it is unused and young enough.
    pub fn redeem(&self, code: &str) -> Result<Grant, CodeError> {
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get_mut(code).ok_or(CodeError::Unknown)?;
        let issued = entry.issued();
        match std::mem::replace(entry, Entry::Used { issued }) {
            Entry::Used { .. } => Err(CodeError::Redeemed),
            Entry::Unused { .. } if now.saturating_duration_since(issued) > CODE_LIFETIME => {
                Err(CodeError::Expired)
            }
            Entry::Unused { grant, .. } => Ok(*grant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(verifier: &str) -> Grant {
        Grant {
            client_id: Uuid::new_v4(),
            redirect_uri: "https://app.example/callback".into(),
            code_challenge: URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
            nonce: None,
            scopes: Scopes::parse("openid").unwrap(),
            user: TestUser::new(Uuid::new_v4(), Uuid::new_v4(), "A".into(), false, true),
        }
    }

    #[test]
    fn a_code_redeems_once_then_reports_it_was_redeemed() {
        let codes = Codes::new(Clock::manual());
        let code = codes.issue(grant("v"));
        assert!(codes.redeem(&code).unwrap().verifier_matches("v"));
        assert_eq!(codes.redeem(&code).unwrap_err(), CodeError::Redeemed);
        assert_eq!(codes.redeem("nope").unwrap_err(), CodeError::Unknown);
    }

    #[test]
    fn a_code_older_than_its_lifetime_is_expired() {
        let clock = Clock::manual();
        let codes = Codes::new(clock);
        let code = codes.issue(grant("v"));
        clock.advance(CODE_LIFETIME + Duration::from_secs(1));
        assert_eq!(codes.redeem(&code).unwrap_err(), CodeError::Expired);
    }

    #[test]
    fn the_rfc_7636_example_verifier_matches_its_challenge() {
        let mut grant = grant("x");
        grant.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into();
        assert!(grant.verifier_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!grant.verifier_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
    }
}
