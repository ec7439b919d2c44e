//! Local stand-ins for the two upstreams nobody can reach from a laptop without an Azure
//! subscription: an Entra-shaped dev issuer and a faithful ACS Identity emulator; and the
//! one-command local stack built from them. Never linked into `acs-gateway`.

pub mod emulator;
pub mod issuer;
pub mod loadgen;
pub mod stack;
