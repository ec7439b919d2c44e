//! Validation of Microsoft Entra access tokens, at least as strict as Microsoft's own validators:
//! compact RS256 JWS only, keys from the authority's own metadata, issuers from that metadata with the
//! token's tenant filled in, v1 and v2 rules never mixed, and every binding (user, app, tenant) checked.
//! This crate holds Entra's rules only; the JWT core (header rules, the key store, the bounded fetch,
//! the lifetime check and the shared refusals) is `jose`'s.

mod claims;
mod error;
mod jws;
mod metadata;
pub mod observe;
mod sources;
mod validator;

pub use claims::TokenVersion;
pub use error::{Rejection, RejectionKind};
pub use validator::{
    AppExpectation, Authority, CONSUMER_TENANT, Expectations, ValidatedToken, Validator, ValidatorConfig,
};

/// The audiences of an Entra token for ACS: its URI and its first-party app id.
pub const ACS_AUDIENCES: &[&str] =
    &["https://auth.msft.communication.azure.com", "1fd5118e-2576-4263-8130-9503064c837a"];

/// Both delegated scopes the Teams exchange needs.
pub const TEAMS_SCOPES: &[&str] = &["Teams.ManageCalls", "Teams.ManageChats"];
