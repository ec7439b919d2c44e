use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use uuid::Uuid;

use super::{
    AccessKey, AcsEndpoint, AppId, Authority, AuthorityKind, AuthorizationPolicy, EntraSettings,
    EntraTenantId, InvalidValue, Limits, TenantSlug,
};
use crate::sealing::StoredSecret;

/// The registry's internal id of a tenant; never shown to API clients, who use the slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(Uuid);

impl TenantId {
    /// The id a stored row carries (any UUID: the registry makes them, with `Uuid::now_v7`).
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new("must not be empty"));
        }
        if trimmed.chars().count() > 200 {
            return Err(InvalidValue::new("must be at most 200 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::new("must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    /// Created, not connected yet: its customer's admin connects it through an invitation. It
    /// exchanges nothing, and only it may lack an Entra tenant ([`TenantStatus::admits`]).
    Pending,
    Active,
    Suspended,
}

impl TenantStatus {
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(InvalidValue::new("must be 'pending', 'active' or 'suspended'")),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Whether a tenant of this status may have `entra`: an authority that is not connected to an
    /// Entra tenant yet is a pending tenant's only (the `tenants_authority_complete` CHECK holds the
    /// same rule).
    pub fn admits(&self, entra: &EntraSettings) -> Result<(), InvalidValue> {
        match (self, entra.authority()) {
            (Self::Pending, _) | (_, Authority::Tenant(_) | Authority::Organizations(_)) => Ok(()),
            (_, Authority::NotConnected(AuthorityKind::Tenant)) => {
                Err(InvalidValue::new("is required for authority 'tenant' (unless status is 'pending')"))
            }
            (_, Authority::NotConnected(AuthorityKind::Organizations)) => Err(InvalidValue::new(
                "must list at least one tenant for authority 'organizations' (unless status is 'pending')",
            )),
        }
    }
}

/// How the gateway authenticates to a tenant's ACS resource (artifact C), as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum AcsCredential {
    /// HMAC-SHA256 with the resource's access key.
    AccessKey(StoredSecret),
    /// An Entra bearer token from client credentials.
    ClientSecret { tenant_id: EntraTenantId, client_id: AppId, client_secret: StoredSecret },
}

impl AcsCredential {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AccessKey(_) => "accessKey",
            Self::ClientSecret { .. } => "clientSecret",
        }
    }

    pub fn fingerprint(&self) -> &str {
        match self {
            Self::AccessKey(secret) | Self::ClientSecret { client_secret: secret, .. } => &secret.fingerprint,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AcsConnection {
    pub endpoint: AcsEndpoint,
    pub credential: AcsCredential,
}

/// An ACS connection on its way in, secrets still in the clear.
#[derive(Debug)]
pub struct NewAcsConnection {
    pub endpoint: AcsEndpoint,
    pub credential: NewAcsCredential,
}

#[derive(Debug)]
pub enum NewAcsCredential {
    AccessKey(AccessKey),
    ClientSecret { tenant_id: EntraTenantId, client_id: AppId, client_secret: SecretString },
}

/// A tenant as stored. Secrets stay sealed until the moment they are used.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub display_name: DisplayName,
    pub status: TenantStatus,
    pub entra: EntraSettings,
    pub acs: AcsConnection,
    pub authorization: AuthorizationPolicy<StoredSecret>,
    pub limits: Limits,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// Everything needed to create a tenant.
#[derive(Debug)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub display_name: DisplayName,
    pub status: TenantStatus,
    pub entra: EntraSettings,
    pub acs: NewAcsConnection,
    pub authorization: AuthorizationPolicy<SecretInput>,
    pub limits: Limits,
}

/// The mutable fields of a tenant, all of them (the caller merges a patch into the current state).
#[derive(Debug)]
pub struct TenantChanges {
    pub display_name: DisplayName,
    pub status: TenantStatus,
    pub entra: EntraSettings,
    pub authorization: AuthorizationPolicy<SecretInput>,
    pub limits: Limits,
}

/// A policy secret on its way in: a new value to seal, or the one already stored, kept as it is.
#[derive(Debug)]
pub enum SecretInput {
    New(SecretString),
    Keep(StoredSecret),
}
