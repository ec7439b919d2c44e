//! The tenant registry: what a tenant is (domain types that parse), where it lives (Postgres), how its
//! secrets are sealed at rest, who may change it (admin keys), what changed (audit events), and how every
//! replica learns of a change (LISTEN/NOTIFY in front of a moka cache).

pub mod admin_keys;
pub mod audit;
pub mod cache;
pub mod domain;
mod error;
pub mod health;
pub mod invitations;
pub mod migrate;
pub mod notice;
pub mod replicas;
pub mod sealing;
pub mod stats;
pub mod tenants;
pub mod weight;

pub use error::RegistryError;
