//! The ACS client against a wiremock ACS (and Entra token endpoint): what goes on the wire, how
//! answers are mapped, retries, timeouts, the circuit breaker and the bearer credential.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly on unexpected errors")]

mod bearer;
mod breaker;
mod errors;
mod helpers;
mod logging;
mod retries;
mod wire;
