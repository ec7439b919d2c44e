//! The tenants repository (and the statistics rows that hang off tenants) against a real Postgres: a
//! fresh database per test, migrations run.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod cache;
mod concurrency;
mod constraints;
mod helpers;
mod pagination;
mod sealing;
mod stats;
