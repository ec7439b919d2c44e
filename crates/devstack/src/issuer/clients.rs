//! Confidential clients registered for the client-credentials grant.
//!
//! Only a SHA-256 digest of each secret is kept, and a presented secret is checked by comparing
//! digests in constant time, so neither the stored form nor the comparison's timing says anything
//! about the secret (the same discipline the gateway uses for its own admin keys).

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

type SecretDigest = [u8; 32];

/// The outcome of authenticating a client.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientCheck {
    /// Registered in this tenant and the secret matches.
    Authenticated,
    /// Not registered in this tenant (it may exist in another one, as in Entra).
    UnknownClient,
    /// Registered, but the secret does not match.
    WrongSecret,
}

/// Registered clients by (tenant, client id), and the redirect URIs registered for a client.
#[derive(Default)]
pub struct ClientRegistry {
    secrets: RwLock<HashMap<(Uuid, Uuid), SecretDigest>>,
    redirect_uris: RwLock<HashMap<Uuid, Vec<String>>>,
}

impl ClientRegistry {
    /// Registers `client_id` in `tenant`, replacing any earlier secret.
    pub fn register(&self, tenant: Uuid, client_id: Uuid, secret: &str) {
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        secrets.insert((tenant, client_id), digest(secret));
    }

    /// Whether `client_id` is registered in `tenant`.
    pub fn is_registered(&self, tenant: Uuid, client_id: Uuid) -> bool {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        secrets.contains_key(&(tenant, client_id))
    }

    /// Whether `client_id` is registered in any tenant (a confidential client, which must
    /// authenticate).
    pub fn is_registered_anywhere(&self, client_id: Uuid) -> bool {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        secrets.keys().any(|(_, client)| *client == client_id)
    }

    /// Checks `secret` for `client_id` wherever it is registered: an application's secret is the
    /// same in every tenant that signs users in to it (the authorization-code grant is redeemed at
    /// `organizations` or at the user's tenant, not at the app's home tenant).
    pub fn check_anywhere(&self, client_id: Uuid, secret: &str) -> ClientCheck {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        let presented = digest(secret);
        let mut registered = secrets.iter().filter(|((_, client), _)| *client == client_id).peekable();
        if registered.peek().is_none() {
            return ClientCheck::UnknownClient;
        }
        // Every registration is compared, so timing says nothing about which one matched.
        let matches =
            registered.fold(false, |found, (_, expected)| found | constant_time_eq(expected, &presented));
        if matches { ClientCheck::Authenticated } else { ClientCheck::WrongSecret }
    }

    /// Replaces the redirect URIs registered for `client_id`; none registered means any absolute
    /// `http(s)` URI is accepted.
    pub fn set_redirect_uris(&self, client_id: Uuid, uris: Vec<String>) {
        let mut registered = self.redirect_uris.write().unwrap_or_else(PoisonError::into_inner);
        registered.insert(client_id, uris);
    }

    /// Whether `uri` may receive `client_id`'s authorization responses: it is registered for the
    /// client (exactly, as Entra compares), or the client has no redirect URIs registered.
    pub fn accepts_redirect(&self, client_id: Uuid, uri: &str) -> bool {
        let registered = self.redirect_uris.read().unwrap_or_else(PoisonError::into_inner);
        registered.get(&client_id).is_none_or(|uris| uris.is_empty() || uris.iter().any(|known| known == uri))
    }

    /// Checks `secret` for `client_id` in `tenant`.
    pub fn check(&self, tenant: Uuid, client_id: Uuid, secret: &str) -> ClientCheck {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        match secrets.get(&(tenant, client_id)) {
            None => ClientCheck::UnknownClient,
            Some(expected) if constant_time_eq(expected, &digest(secret)) => ClientCheck::Authenticated,
            Some(_) => ClientCheck::WrongSecret,
        }
    }
}

fn digest(secret: &str) -> SecretDigest {
    Sha256::digest(secret.as_bytes()).into()
}

/// Compares every byte whatever the first difference; `black_box` stops the optimiser from
/// turning the fold back into an early exit.
fn constant_time_eq(a: &SecretDigest, b: &SecretDigest) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_known_only_in_the_tenant_it_was_registered_in() {
        let registry = ClientRegistry::default();
        let (home, other, client) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        registry.register(home, client, "s3cret");

        assert_eq!(registry.check(home, client, "s3cret"), ClientCheck::Authenticated);
        assert_eq!(registry.check(home, client, "s3cret "), ClientCheck::WrongSecret);
        assert_eq!(registry.check(other, client, "s3cret"), ClientCheck::UnknownClient);
    }

    #[test]
    fn an_application_secret_is_checked_in_whichever_tenant_it_was_registered() {
        let registry = ClientRegistry::default();
        let (home, client) = (Uuid::new_v4(), Uuid::new_v4());
        registry.register(home, client, "s3cret");

        assert_eq!(registry.check_anywhere(client, "s3cret"), ClientCheck::Authenticated);
        assert_eq!(registry.check_anywhere(client, "other"), ClientCheck::WrongSecret);
        assert_eq!(registry.check_anywhere(Uuid::new_v4(), "s3cret"), ClientCheck::UnknownClient);
    }

    #[test]
    fn redirect_uris_are_matched_exactly_once_registered() {
        let registry = ClientRegistry::default();
        let client = Uuid::new_v4();
        assert!(registry.accepts_redirect(client, "https://anything.example/cb"));
        registry.set_redirect_uris(client, vec!["https://app.example/cb".into()]);
        assert!(registry.accepts_redirect(client, "https://app.example/cb"));
        assert!(!registry.accepts_redirect(client, "https://app.example/cb/"));
    }
}
