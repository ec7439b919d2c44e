//! Request counters: atomics updated on the hot path, read as a [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::auth::Credential;

/// A snapshot of the emulator's counters since start (or the last reset).
///
/// Operation counters (`exchanges`, `create_identity`, ...) count successes; `exchange_attempts`
/// counts every exchange request that reached the emulator's handler, including faulted ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every request to an Identity route, whatever its outcome.
    pub requests: u64,
    /// Successful (200) Teams token exchanges.
    pub exchanges: u64,
    /// Every request to the exchange route, including faulted and failed ones.
    pub exchange_attempts: u64,
    pub create_identity: u64,
    pub issue_token: u64,
    pub revoke: u64,
    pub delete: u64,
    /// Requests refused with 401 `InvalidAuthentication` (bad HMAC or bearer credential).
    pub auth_failures: u64,
    /// Requests authenticated with an HMAC signature.
    pub hmac_authenticated: u64,
    /// Requests authenticated with a bearer token.
    pub bearer_authenticated: u64,
    /// Exchanges refused with 401 `InvalidAccessToken`.
    pub invalid_access_tokens: u64,
    /// Exchanges refused with 403 for the user (a refusal set with `/dev/users/{oid}/refusal`).
    pub user_refusals: u64,
    /// Requests refused with 400 (validation, api-version, malformed body).
    pub bad_requests: u64,
    /// Requests answered by fault injection (throttled + server errors + resets).
    pub faults_injected: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub resets: u64,
    /// Fetches of the dev issuer's key set.
    pub key_fetches: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    exchanges: AtomicU64,
    exchange_attempts: AtomicU64,
    create_identity: AtomicU64,
    issue_token: AtomicU64,
    revoke: AtomicU64,
    delete: AtomicU64,
    auth_failures: AtomicU64,
    hmac_authenticated: AtomicU64,
    bearer_authenticated: AtomicU64,
    invalid_access_tokens: AtomicU64,
    user_refusals: AtomicU64,
    bad_requests: AtomicU64,
    throttled: AtomicU64,
    server_errors: AtomicU64,
    resets: AtomicU64,
}

/// A counter the handlers name when something happened.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Request,
    Exchange,
    ExchangeAttempt,
    CreateIdentity,
    IssueToken,
    Revoke,
    Delete,
    InvalidAccessToken,
    UserRefusal,
    BadRequest,
    Throttled,
    ServerError,
    Reset,
}

impl Counters {
    pub(crate) fn record(&self, event: Event) {
        let counter = match event {
            Event::Request => &self.requests,
            Event::Exchange => &self.exchanges,
            Event::ExchangeAttempt => &self.exchange_attempts,
            Event::CreateIdentity => &self.create_identity,
            Event::IssueToken => &self.issue_token,
            Event::Revoke => &self.revoke,
            Event::Delete => &self.delete,
            Event::InvalidAccessToken => &self.invalid_access_tokens,
            Event::UserRefusal => &self.user_refusals,
            Event::BadRequest => &self.bad_requests,
            Event::Throttled => &self.throttled,
            Event::ServerError => &self.server_errors,
            Event::Reset => &self.resets,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn credential_accepted(&self, credential: Credential) {
        let counter = match credential {
            Credential::AccessKey => &self.hmac_authenticated,
            Credential::Bearer => &self.bearer_authenticated,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter; `key_fetches` comes from the key cache, which counts on its own.
    pub(crate) fn snapshot(&self, key_fetches: u64) -> Stats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (throttled, server_errors, resets) =
            (read(&self.throttled), read(&self.server_errors), read(&self.resets));
        Stats {
            requests: read(&self.requests),
            exchanges: read(&self.exchanges),
            exchange_attempts: read(&self.exchange_attempts),
            create_identity: read(&self.create_identity),
            issue_token: read(&self.issue_token),
            revoke: read(&self.revoke),
            delete: read(&self.delete),
            auth_failures: read(&self.auth_failures),
            hmac_authenticated: read(&self.hmac_authenticated),
            bearer_authenticated: read(&self.bearer_authenticated),
            invalid_access_tokens: read(&self.invalid_access_tokens),
            user_refusals: read(&self.user_refusals),
            bad_requests: read(&self.bad_requests),
            faults_injected: throttled + server_errors + resets,
            throttled,
            server_errors,
            resets,
            key_fetches,
        }
    }

    /// Zeroes every counter here (the key cache resets its own).
    pub(crate) fn reset(&self) {
        for counter in [
            &self.requests,
            &self.exchanges,
            &self.exchange_attempts,
            &self.create_identity,
            &self.issue_token,
            &self.revoke,
            &self.delete,
            &self.auth_failures,
            &self.hmac_authenticated,
            &self.bearer_authenticated,
            &self.invalid_access_tokens,
            &self.user_refusals,
            &self.bad_requests,
            &self.throttled,
            &self.server_errors,
            &self.resets,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}
