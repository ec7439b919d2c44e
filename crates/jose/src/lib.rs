//! The JWT core shared by the Entra validator (`entra`), the authorization policies (`authz`) and
//! any later use of JWTs: strict base64url, compact serialization and JSON objects, RSA JWKs, the
//! header rules, the lifetime check, a key store per key-set URL, one bounded HTTP fetch (also used
//! by `acs`), the refusal every validator's reasons come from, and the memory weights of cached
//! values that every crate with a cache uses. What is particular to an issuer
//! (Entra's versions, tenants and scopes) or to a tenant's policy stays with its crate. This crate
//! depends on no other crate of the workspace.

pub mod base64url;
pub mod clock;
pub mod compact;
pub mod fetch;
pub mod header;
pub mod json;
pub mod jwk;
pub mod keys;
pub mod lifetime;
pub mod refusal;
pub mod weight;

pub use refusal::Refusal;
