//! A tenant's secrets, opened: the registry alone knows how they are sealed (the associated-data
//! purposes stay in this crate), so whoever needs them in the clear asks [`Tenant::open`].

use secrecy::{ExposeSecret, SecretBox, SecretString};

use super::{ACS_PURPOSE, POLICY_PURPOSE};
use crate::{
    domain::{AcsCredential, AppId, AuthorizationPolicy, EntraTenantId, Tenant},
    sealing::{Keyring, SealContext, SealError, StoredSecret},
};

/// A secret in the clear, as bytes (an ACS access key, a policy's shared secret).
pub type OpenedSecret = SecretBox<Vec<u8>>;

/// How the gateway authenticates to the tenant's ACS resource, with its secret opened.
pub enum OpenedAcsCredential {
    AccessKey(OpenedSecret),
    ClientSecret { tenant_id: EntraTenantId, client_id: AppId, client_secret: SecretString },
}

/// The secrets of one version of a tenant, opened.
pub struct OpenedTenant {
    pub credential: OpenedAcsCredential,
    pub authorization: AuthorizationPolicy<OpenedSecret>,
}

impl Tenant {
    /// Opens this tenant's sealed secrets with `keyring`.
    pub fn open(&self, keyring: &Keyring) -> Result<OpenedTenant, SealError> {
        let open = |secret: &StoredSecret, purpose: &str| {
            keyring.open(&secret.sealed, SealContext { tenant: self.id.as_uuid(), purpose })
        };
        let credential = match &self.acs.credential {
            AcsCredential::AccessKey(secret) => OpenedAcsCredential::AccessKey(open(secret, ACS_PURPOSE)?),
            AcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
                let secret = open(client_secret, ACS_PURPOSE)?;
                let secret =
                    String::from_utf8(secret.expose_secret().clone()).map_err(|_| SealError::Malformed)?;
                OpenedAcsCredential::ClientSecret {
                    tenant_id: *tenant_id,
                    client_id: *client_id,
                    client_secret: SecretString::from(secret),
                }
            }
        };
        let authorization =
            self.authorization.clone().try_map_secrets(|secret| open(&secret, POLICY_PURPOSE))?;
        Ok(OpenedTenant { credential, authorization })
    }
}
