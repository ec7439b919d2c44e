//! The ACS Identity client: how the gateway authenticates to a tenant's Azure Communication Services
//! resource (artifact C) and exchanges a Teams user's Entra token for an ACS token (artifact D).
//!
//! The crate knows nothing of the tenant registry: the gateway turns its stored tenant into an
//! [`AcsTarget`] (slug, endpoint, [`Credential`]) per request, and maps [`AcsError`] to its HTTP
//! contract. Everything that must outlive one request (the HTTP connection pool, bearer tokens,
//! circuit breakers) lives in the shared [`AcsClient`].

mod client;
mod credential;
mod error;
mod exchange;
mod http;
mod observer;
pub mod signing;

pub use client::{AcsClient, AcsClientConfig, BreakerConfig, BreakerState};
pub use credential::{AccessKey, ClientSecretCredential, Credential, InvalidAccessKey, TokenEndpointError};
pub use error::{AcsError, UserRefusal};
pub use exchange::{AcsTarget, AcsToken, ExchangeRequest};
pub use observer::{TransportError, UpstreamCall, UpstreamKind, UpstreamObserver};
