//! The ACS Identity emulator over real sockets, with reqwest as the client and requests signed by
//! the tests' own signer: authentication, the exchange's A1 rules, identities, faults, per-user
//! refusals and stats.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod emulator_support;

#[path = "emulator/authentication.rs"]
mod authentication;
#[path = "emulator/exchange.rs"]
mod exchange;
#[path = "emulator/faults.rs"]
mod faults;
#[path = "emulator/identities.rs"]
mod identities;
#[path = "emulator/refusals.rs"]
mod refusals;
#[path = "emulator/service_errors.rs"]
mod service_errors;
