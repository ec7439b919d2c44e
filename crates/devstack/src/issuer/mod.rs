//! The dev Entra issuer: `login.microsoftonline.com` under one base URL.
//!
//! It serves the v1 and v2 OpenID metadata documents and key sets for any GUID tenant,
//! `organizations` and `common`, naming the same issuers real Entra names, so the gateway runs
//! unchanged with `ACSGW_ENTRA_AUTHORITY_HOST` pointing here. On top of that it mints every token a
//! test needs, good or bad (`POST /dev/tokens`), rotates its signing key on demand
//! (`POST /dev/keys:rotate`) and runs the client-credentials grant for registered clients
//! (`POST /{tenant}/oauth2/v2.0/token`, and the v1 `/{tenant}/oauth2/token`).
//!
//! For browser flows it has test users (`POST /dev/users`), the authorization-code grant with PKCE
//! (`/{tenant}/oauth2/v2.0/authorize`, a sign-in page listing the test users, `prompt=none`),
//! tenant-wide admin consent (`/{tenant}/v2.0/adminconsent`), and the errors Entra gives when consent
//! or ACS's service principal is missing (`POST /dev/tenants/{tenant}/service-principal`). Linked to
//! the ACS emulator ([`crate::emulator::RunningEmulator::refuse_unlicensed_users_of`]), its users
//! without a Teams licence are refused by the emulator as ACS refuses them.
//!
//! Everything is in memory and lives as long as the [`DevIssuer`]; it is a test double, and is never
//! linked into the gateway binary (a token minter in production would be a hole).

mod cert;
mod claims;
mod clients;
mod codes;
mod directory;
mod html;
mod jws;
mod keys;
mod mint;
mod routes;
mod scopes;
mod server;
mod tenant;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use jose::clock::Clock;
use uuid::Uuid;

pub use self::{
    claims::TokenVersion,
    codes::CODE_LIFETIME,
    directory::{DirectoryError, TestUser},
    mint::{
        DEFAULT_AUDIENCE, DEFAULT_LIFETIME_SECONDS, DEFAULT_SCOPES, DEFAULT_V2_AUDIENCE, MintError,
        MintRequest, Signing,
    },
    scopes::{ACS_APP_ID, ACS_DISPLAY_NAME},
    server::RunningIssuer,
    tenant::TenantSegment,
};
use self::{
    clients::ClientRegistry,
    codes::Codes,
    directory::Directory,
    keys::{IssuerKey, KEY_BITS, KeyRing, WEAK_KEY_BITS},
};

/// The issuer's state: signing keys, registered clients and counters. Cheap to clone; clones share
/// everything, so a test can keep one while the server uses another.
#[derive(Clone)]
pub struct DevIssuer {
    state: Arc<State>,
}

struct State {
    keys: KeyRing,
    /// The keys of the odd [`Signing`] modes, each generated on first use.
    odd: Mutex<OddKeys>,
    clients: ClientRegistry,
    directory: Directory,
    codes: Codes,
    /// Times authorization codes and the browser flows' tokens; [`Clock::real`] but in tests.
    clock: Clock,
    key_set_fetches: AtomicU64,
    metadata_fetches: AtomicU64,
}

impl DevIssuer {
    /// Generates the first RSA-2048 signing key (a fraction of a second; do it before serving).
    pub fn new() -> anyhow::Result<Self> {
        Self::with_clock(Clock::real())
    }

    /// As [`Self::new`], with `clock` timing authorization codes (and the browser flows' tokens):
    /// tests move a [`Clock::manual`] past [`CODE_LIFETIME`] instead of sleeping.
    pub fn with_clock(clock: Clock) -> anyhow::Result<Self> {
        let state = State {
            keys: KeyRing::new(IssuerKey::generate()?),
            odd: Mutex::new(OddKeys::default()),
            clients: ClientRegistry::default(),
            directory: Directory::default(),
            codes: Codes::new(clock),
            clock,
            key_set_fetches: AtomicU64::new(0),
            metadata_fetches: AtomicU64::new(0),
        };
        Ok(Self { state: Arc::new(state) })
    }

    /// Serves on an already-bound listener (port 0 in tests); returns once it accepts connections.
    pub async fn start(self, listener: std::net::TcpListener) -> anyhow::Result<RunningIssuer> {
        server::start(self, listener)
    }

    /// Mints a token directly, exactly as `POST /dev/tokens` does. Tokens name Entra's real issuers
    /// (`https://sts.windows.net/{tid}/`, `https://login.microsoftonline.com/{tid}/v2.0`), never the
    /// dev issuer's address, so the issuer's own URL plays no part. The first mint of each odd
    /// [`Signing`] mode generates its RSA key, so it can block briefly.
    pub fn mint(&self, request: &MintRequest) -> Result<String, MintError> {
        let current = self.state.keys.current();
        mint::mint(request, chrono::Utc::now().timestamp(), &current, |signing, tenant| {
            self.odd_key(signing, tenant)
        })
    }

    /// Publishes a new key, then signs with it (as `POST /dev/keys:rotate`). The previous keys stay
    /// published (the three newest in all) unless `retire_old`. Returns the new `kid`.
    /// Generates an RSA key, so it blocks for a fraction of a second.
    pub fn rotate(&self, retire_old: bool) -> anyhow::Result<String> {
        self.rotate_and_list(retire_old).map(|(kid, _)| kid)
    }

    /// Registers a confidential client for the client-credentials token endpoint in `tenant`,
    /// replacing any earlier secret for it. Only a digest of the secret is kept.
    pub fn register_client(&self, tenant: Uuid, client_id: Uuid, client_secret: &str) {
        self.state.clients.register(tenant, client_id, client_secret);
    }

    /// Registers the redirect URIs of `client_id` (exact matches, as in Entra). Until a client has
    /// some, the browser flows accept any absolute `http(s)` redirect URI for it.
    pub fn register_redirect_uris(&self, client_id: Uuid, uris: Vec<String>) {
        self.state.clients.set_redirect_uris(client_id, uris);
    }

    /// Adds a test user (as `POST /dev/users`).
    pub fn add_user(&self, user: TestUser) -> Result<TestUser, DirectoryError> {
        self.state.directory.add_user(user)
    }

    /// The test users of `tenant` (all tenants for `None`), in creation order.
    pub fn users(&self, tenant: Option<Uuid>) -> Vec<TestUser> {
        self.state.directory.users(tenant)
    }

    /// Adds (`true`, the default) or removes ACS's first-party service principal in `tenant`.
    pub fn set_acs_service_principal(&self, tenant: Uuid, present: bool) {
        self.state.directory.set_acs_service_principal(tenant, present);
    }

    /// Whether `tenant` has granted admin consent to `client_id`.
    pub fn has_admin_consent(&self, tenant: Uuid, client_id: Uuid) -> bool {
        self.state.directory.has_consent(tenant, client_id)
    }

    /// The stable object id the issuer gives `client_id`'s service principal in `tenant` (the `oid`
    /// and `sub` of its client-credentials tokens).
    pub fn service_principal_id(tenant: Uuid, client_id: Uuid) -> Uuid {
        claims::service_principal_id(tenant, client_id)
    }

    /// The `kid`s published now, newest (the signing key) first.
    pub fn published_kids(&self) -> Vec<String> {
        self.state.keys.published().iter().map(|key| key.kid().to_owned()).collect()
    }

    /// How many times a JWKS document (v1 or v2, any tenant) has been served.
    pub fn key_set_fetches(&self) -> u64 {
        self.state.key_set_fetches.load(Ordering::Relaxed)
    }

    /// How many times an OpenID metadata document (v1 or v2, any tenant) has been served.
    pub fn metadata_fetches(&self) -> u64 {
        self.state.metadata_fetches.load(Ordering::Relaxed)
    }

    /// Rotation for the HTTP route, which also reports the published set.
    fn rotate_and_list(&self, retire_old: bool) -> anyhow::Result<(String, Vec<String>)> {
        let key = IssuerKey::generate()?;
        let kid = key.kid().to_owned();
        let published = self.state.keys.rotate(key, retire_old);
        tracing::debug!(%kid, retire_old, published = published.len(), "Rotated the dev signing key");
        Ok((kid, published))
    }

    /// The key of an odd signing mode (for `tenant`'s tokens), generated on first use. The weak and
    /// the encryption key are published from then on (after the real keys), a tenant's own key in
    /// its own key sets only; the unknown key never is.
    fn odd_key(&self, signing: Signing, tenant: Uuid) -> anyhow::Result<Arc<IssuerKey>> {
        let lock = || self.state.odd.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = lock().slot(signing, tenant) {
            return Ok(Arc::clone(key));
        }
        // Generated outside the lock, so key set requests never wait for it.
        let key = match signing {
            Signing::WeakKey => IssuerKey::generate_with(WEAK_KEY_BITS, "sig")?,
            Signing::EncryptionKey => IssuerKey::generate_with(KEY_BITS, "enc")?,
            Signing::UnknownKey | Signing::TenantKey | Signing::Current | Signing::Unsigned => {
                IssuerKey::generate()?
            }
        };
        let mut odd = lock();
        // A concurrent mint may have been first: every token of a mode uses the same key.
        Ok(Arc::clone(odd.slot(signing, tenant).get_or_insert_with(|| Arc::new(key))))
    }

    /// Every key in the key sets of `tenant` (`None` for `organizations`/`common`): the real ones,
    /// newest first, then the odd ones minted so far, then the tenant's own key if it has one.
    fn key_set_keys(&self, tenant: Option<Uuid>) -> Vec<Arc<IssuerKey>> {
        let mut keys = self.state.keys.published();
        let odd = self.state.odd.lock().unwrap_or_else(PoisonError::into_inner);
        keys.extend(odd.weak.iter().chain(&odd.encryption).cloned());
        keys.extend(tenant.and_then(|tenant| odd.tenants.get(&tenant).cloned().flatten()));
        keys
    }

    fn count_key_set_fetch(&self) {
        self.state.key_set_fetches.fetch_add(1, Ordering::Relaxed);
    }

    fn count_metadata_fetch(&self) {
        self.state.metadata_fetches.fetch_add(1, Ordering::Relaxed);
    }
}

/// Test users made with `"teamsLicensed": false` are refused by an emulator linked to this issuer.
impl crate::emulator::TeamsLicences for DevIssuer {
    fn teams_licensed(&self, oid: Uuid) -> Option<bool> {
        self.state.directory.teams_licensed(oid)
    }
}

/// The keys behind the odd [`Signing`] modes.
#[derive(Default)]
struct OddKeys {
    /// [`Signing::UnknownKey`]: never published.
    unpublished: Option<Arc<IssuerKey>>,
    /// [`Signing::WeakKey`]: 1024 bits, published.
    weak: Option<Arc<IssuerKey>>,
    /// [`Signing::EncryptionKey`]: published with `"use": "enc"`.
    encryption: Option<Arc<IssuerKey>>,
    /// [`Signing::TenantKey`]: each published in its tenant's own key sets only.
    tenants: HashMap<Uuid, Option<Arc<IssuerKey>>>,
}

impl OddKeys {
    fn slot(&mut self, signing: Signing, tenant: Uuid) -> &mut Option<Arc<IssuerKey>> {
        match signing {
            Signing::WeakKey => &mut self.weak,
            Signing::EncryptionKey => &mut self.encryption,
            Signing::TenantKey => self.tenants.entry(tenant).or_default(),
            Signing::UnknownKey | Signing::Current | Signing::Unsigned => &mut self.unpublished,
        }
    }
}
