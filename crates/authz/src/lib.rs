//! The tenant's policy for artifact **B**, the SaaS vendor's own authorization artifact that an
//! end-user app sends as `Authorization: Bearer <B>` beside A1.
//!
//! The gateway validates A1 first, then calls [`Authorizer::check`] with the tenant's [`Policy`]
//! (secrets already opened), the bearer token and the [`Subject`] A1 proved. Whatever the policy,
//! B is bound to that same user: a valid B for somebody else is [`AuthzError::UserMismatch`].
//! Every failure to *decide* (a key set or a webhook that cannot be reached) fails closed with
//! `upstream_unavailable`; nothing is ever allowed on error.
//!
//! | policy | B | decided by |
//! |---|---|---|
//! | `none` | ignored | nobody: always allowed |
//! | `entra` | required | the gateway's Entra validator through [`EntraTokenVerifier`]; then `tid`/`oid` must be A1's |
//! | `jwt` | required | strict compact JWS; RS256 from a JWKS URL or HS256 with a shared secret, as the policy says |
//! | `webhook` | required | the vendor's HTTP service, answer cached per user and B |
//!
//! This crate holds the B policies only: the JWT core of the `jwt` policy (header rules, the key
//! store, the bounded fetch, the lifetime check and the refusal its [`Check`] is) is `jose`'s.
//!
//! B is required for `webhook` policies too: the API promises B is absent only under `none`, and a
//! vendor service that forgot to look at B must not silently turn the policy into "any signed-in user".
//!
//! # Webhook contract
//!
//! For each decision the gateway sends one request, with the policy's timeout covering connect,
//! request and answer together, and no retries and no redirects followed:
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! X-ACSGW-Timestamp: <unix seconds>
//! X-ACSGW-Signature: v1=<lowercase hex HMAC-SHA256(secret, timestamp + "." + body)>
//! X-ACSGW-Authorization: Bearer <B>
//!
//! {"tenant":"<slug>","tid":"<A1 tid>","oid":"<A1 oid>","appId":"<A1 app id>"}
//! ```
//!
//! GUIDs are lowercase and hyphenated. The vendor verifies the signature over the *raw* body bytes
//! exactly as received, with a constant-time comparison, and should refuse timestamps more than a
//! few minutes from its own clock (replay). It may check B (its own artifact) itself.
//!
//! The vendor answers `200` with `{"allow": true}` or `{"allow": false}` (other members are ignored).
//! Any other status, a body that is not that JSON, an answer larger than 64 KiB, a transport error or
//! the timeout fails closed with `upstream_unavailable`. Both allow and deny are cached for the
//! policy's `cache_for` (zero disables the cache; at most 24 h) per tenant, Entra tenant, user, app, URL and B
//! (B is keyed by its SHA-256, never stored); identical concurrent checks share one request.

mod authorizer;
mod bearer;
mod claims;
mod config;
mod decisions;
mod entra;
mod error;
mod jws;
mod jwt;
mod policy;
mod webhook;

pub use authorizer::{Authorizer, Decision};
pub use config::{AuthorizerConfig, BuildError, MAX_LEEWAY};
pub use entra::{EntraTokenVerifier, Refusal, VerifiedEntraToken};
pub use error::{AuthzError, Check, ServiceFailure};
pub use policy::{DEFAULT_USER_CLAIM, JwtKey, Policy, PolicyKind, Subject};
