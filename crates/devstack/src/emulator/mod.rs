//! A faithful local ACS Identity data-plane server (see `shared/reference/acs-identity-api.md`).
//!
//! # Routes
//!
//! | route | success |
//! |---|---|
//! | `POST /teamsUser/:exchangeAccessToken` | 200 `{"token","expiresOn"}`, `expiresOn` = A1's `exp` |
//! | `POST /identities` (body optional) | 201 `{"identity":{"id"},"accessToken"?}` |
//! | `POST /identities/{id}/:issueAccessToken` | 200 `{"token","expiresOn"}` |
//! | `POST /identities/{id}/:revokeAccessTokens` | 204 |
//! | `DELETE /identities/{id}` | 204 |
//! | `GET`/`POST /dev/faults`, `GET /dev/stats`, `POST /dev/stats:reset` | no authentication |
//! | `GET`/`POST`/`DELETE /dev/users/{oid}/refusal` | no authentication; `POST` body `{"code": "UserLicenseNotPresentForbidden"}` |
//! |  | the dev issuer's unlicensed test users are refused too, once linked ([`RunningEmulator::refuse_unlicensed_users_of`]) |
//!
//! Every Identity request goes through, in this order: routing; the pipeline (count, latency,
//! injected fault); authentication (HMAC-SHA256 with the access key, or an Entra bearer token of
//! the dev issuer with audience `https://communication.azure.com/`), as real ACS authenticates
//! first; `api-version`; the body and the operation. Every Identity response carries `MS-CV`,
//! `api-supported-versions` and the echoed `x-ms-client-request-id`.
//!
//! # Error codes (`{"error":{"code","message","target"?}}`)
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `MissingApiVersionParameter` (target `api-version`) | no or empty `api-version` |
//! | 400 | `UnsupportedApiVersion` (target `api-version`) | a version without this operation |
//! | 400 | `ValidationError` (target `appId`/`userId`) | not a GUID (ACS's messages), or not A1's `appid`/`azp`/`oid` |
//! | 400 | `ValidationError` (target `scopes`/`expiresInMinutes`/`id`) | bad issue/create input, malformed identity id |
//! | 400 | `ValidationError` (no target) | a body that is not the operation's JSON |
//! | 401 | `InvalidAuthentication` | the HMAC signature or bearer token failed; the message names the check |
//! | 401 | `InvalidAccessToken` | A1 is not valid (signature, lifetime, audience, scopes, app-only) |
//! | 401 | `IdentityNotOwned` | an identity of another resource |
//! | 403 | `UserLicenseNotPresentForbidden` / `TeamsDisabledForTenantForbidden` | an exchange with a valid A1 of a user refused with `/dev/users/{oid}/refusal`, or an unlicensed test user of the linked dev issuer ([`RunningEmulator::refuse_unlicensed_users_of`]) |
//! | 404 | `IdentityNotFound` | an identity of this resource that never existed or was deleted |
//! | 404 / 405 | `NotFound` / `MethodNotAllowed` | unknown route / wrong method |
//! | 413 | `RequestEntityTooLarge` | a body over 1 MiB (any route, `/dev/*` included) |
//! | 429 | `TooManyRequests` + `Retry-After` | injected throttling |
//! | 500 / 503 | `InternalServerError` / `ServiceUnavailable` | injected errors |
//! | 503 | `ServiceUnavailable` | the dev issuer's keys cannot be fetched to check a bearer token or A1 |
//!
//! # Choices worth knowing
//!
//! - Entra tokens (A1 and bearer) are RS256 only, checked against the issuer's keys with 60 s of
//!   clock leeway on `exp`/`nbf`; `iss` and `tid` are not checked (the gateway does that).
//! - An HMAC `x-ms-date` may be at most 5 minutes off, either way.
//! - Issued ACS tokens are HS256 under a random per-process secret (real ACS uses RS256); nothing
//!   checks them later, so revoking and deleting do not invalidate them.
//! - The `reset` fault shuts the TCP connection down before any response byte is written: clients
//!   see "connection closed before message completed", not a status.

mod a1;
mod acs_token;
mod api_version;
mod auth;
mod body;
mod connection;
mod dev_routes;
mod entra_token;
mod error;
mod exchange;
mod faults;
mod hmac_auth;
mod identities;
mod identity_routes;
mod keys;
mod pipeline;
mod refusals;
mod routes;
mod state;
mod stats;

use std::{net::SocketAddr, sync::Arc};

use actix_web::{App, HttpServer, dev::ServerHandle, web};
use base64::{Engine as _, engine::general_purpose::STANDARD};

use self::state::Shared;
pub use self::{
    faults::Faults,
    keys::KEY_REFETCH_COOLDOWN,
    refusals::{Refusal, TeamsLicences},
    stats::Stats,
};
/// The clock [`EmulatorConfig::clock`] takes (re-exported so that users need not depend on `jose`).
pub use jose::clock::Clock;

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// The HMAC key (raw bytes); connection strings carry its base64.
    pub access_key: Vec<u8>,
    /// Used in identity ids: `8:acs:<resource_id>_<guid>`.
    pub resource_id: uuid::Uuid,
    /// The dev Entra issuer's base URL; A1 and bearer tokens are verified against the keys at
    /// `{entra_url}/common/discovery/keys`.
    pub entra_url: String,
    /// Fault settings at start.
    pub faults: Faults,
    /// Times the refetch cool-down of the issuer's keys ([`KEY_REFETCH_COOLDOWN`]): [`Clock::real`]
    /// but in tests, which move a [`Clock::manual`] past it instead of sleeping.
    pub clock: Clock,
}

/// A running emulator. It keeps running until [`RunningEmulator::stop`] (or the runtime ends).
pub struct RunningEmulator {
    endpoint: String,
    access_key_base64: String,
    clock: Clock,
    shared: Arc<Shared>,
    handle: ServerHandle,
}

/// Serves the emulator on `listener` (bind port 0 in tests) until stopped.
pub async fn start(
    listener: std::net::TcpListener,
    config: EmulatorConfig,
) -> anyhow::Result<RunningEmulator> {
    let endpoint = format!("http://{}", reachable(listener.local_addr()?));
    let access_key_base64 = STANDARD.encode(&config.access_key);
    let clock = config.clock;
    let shared = Arc::new(Shared::new(config)?);
    let data = web::Data::from(Arc::clone(&shared));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes::configure))
        .on_connect(connection::remember)
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    tracing::info!(%endpoint, "ACS Identity emulator listening");
    Ok(RunningEmulator { endpoint, access_key_base64, clock, shared, handle })
}

/// The address clients should use: the bound one, or loopback when bound to every interface.
fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => SocketAddr::from(([127, 0, 0, 1], v4.port())),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], v6.port()))
        }
        other => other,
    }
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `endpoint=http://127.0.0.1:PORT/;accesskey=<base64>`, as the Azure portal writes them.
    pub fn connection_string(&self) -> String {
        format!("endpoint={}/;accesskey={}", self.endpoint, self.access_key_base64)
    }

    /// The access key as connection strings carry it (base64).
    pub fn access_key_base64(&self) -> &str {
        &self.access_key_base64
    }

    /// The clock it was started with; advancing a manual one moves the emulator's time.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// Replaces the fault settings; takes effect for the next request.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Refuses every exchange of the user with Entra object id `oid` from the next request on, as ACS
    /// refuses a user without Teams (after A1 is checked); `None` serves them again.
    pub fn set_refusal(&self, oid: uuid::Uuid, refusal: Option<Refusal>) {
        self.shared.refusals.set(oid, refusal);
    }

    /// Refuses, from the next request on, every user `licences` says holds no Teams licence, with
    /// ACS's `UserLicenseNotPresentForbidden` (as [`Self::set_refusal`] does for one user; a refusal
    /// set explicitly wins). Pass the dev issuer to refuse its test users made with
    /// `"teamsLicensed": false`.
    pub fn refuse_unlicensed_users_of(&self, licences: Arc<dyn TeamsLicences>) {
        self.shared.refusals.link(licences);
    }

    /// Stops accepting connections and waits (at most a second) for requests in flight.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}
