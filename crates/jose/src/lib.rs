//! Strict building blocks for reading compact JWS tokens and RSA key sets, shared by the Entra
//! validator (`entra`) and the authorization policies (`authz`). What a token may carry (its algorithm,
//! header members and claims) and how keys are cached stay with each caller, as do its error types:
//! each maps the small errors returned here into its own, in its own words. This crate depends on no
//! other crate of the workspace.

pub mod base64url;
pub mod compact;
pub mod json;
pub mod jwk;
