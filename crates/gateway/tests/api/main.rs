//! Integration tests through HTTP against a real Postgres (a fresh database per test).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test that cannot set itself up should fail loudly"
)]

mod admin_auth;
mod admin_key_cli;
mod admin_key_lifecycle;
mod admin_keys;
mod admin_roles;
mod attacks;
mod audit_events;
mod binary;
mod cli;
mod exchange;
mod exchange_acs_refusals;
mod exchange_authorization;
mod exchange_bearer;
mod exchange_limits;
mod exchange_telemetry;
mod exchange_upstream;
mod fault_helpers;
mod faults_acs;
mod faults_admin_writes;
mod faults_keys;
mod health;
mod helpers;
mod invitations;
mod key_sets;
mod onboarding_helpers;
mod onboarding_not_configured;
mod onboarding_page;
mod operations;
mod operations_series;
mod operations_stats;
mod operations_stats_flush;
mod registry_outage;
mod replicas;
mod request_context;
mod sealing;
mod tenants_acs;
mod tenants_create;
mod tenants_delete;
mod tenants_patch;
mod tenants_pending;
mod tenants_read;
mod tenants_validation;
mod upstreams;
