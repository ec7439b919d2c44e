//! The `acs-devstack` binary: smoke runs, the env file, clean stops on every way out, the data
//! directory's ownership, its flags,
//! `--no-gateway` with a gateway started apart, and `acs-loadgen` against it.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test that cannot set itself up should fail loudly"
)]

mod stack_support;

#[path = "stack/arguments.rs"]
mod arguments;
#[path = "stack/data_dir.rs"]
mod data_dir;
#[path = "stack/lifecycle.rs"]
mod lifecycle;
#[path = "stack/loadgen.rs"]
mod loadgen;
#[path = "stack/separate_gateway.rs"]
mod separate_gateway;
