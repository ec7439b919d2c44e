//! The tenants repository against a real Postgres: a fresh database per test, migrations run.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

mod concurrency;
mod constraints;
mod helpers;
mod pagination;
mod sealing;
