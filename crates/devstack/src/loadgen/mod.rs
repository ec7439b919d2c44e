//! `acs-loadgen`: exchanges per second and latency of a running gateway, against the devstack's issuer
//! and emulator (start `acs-devstack --env-file PATH` first, or `acs-devstack --no-gateway` and
//! `acs-gateway serve` apart, as `bench/run.sh` does to pin each to its own core).
//!
//! Without `--scenario` it mints `--distinct-tokens` A1 tokens spread over `--users` Entra users (so
//! that the gateway's per-user limit, 30 exchanges a minute by default, is not what gets measured),
//! lifts the demo tenant's rate limit, then keeps `--concurrency` exchanges in flight for
//! `--duration` seconds and reports throughput, latency percentiles and answers by status. Each
//! `--scenario` measures one path of issue 10's benchmarks (see [`Scenario`]). See BENCHMARKS.md for
//! the figures and how to reproduce them.

mod admin;
mod drive;
mod exchanges;
mod floor;
mod report;
mod scenario;
mod tenants;
mod tokens;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

use self::{
    admin::Admin,
    drive::{Load, Prepared, drive},
    report::Output,
    tokens::user_id,
};
pub use self::{drive::Sample, scenario::Scenario};

/// Load generator for the exchange endpoint.
#[derive(Debug, Parser)]
#[command(name = "acs-loadgen", version, about, long_about)]
pub struct Args {
    /// The `--env-file` written by `acs-devstack`.
    #[arg(long, value_name = "PATH")]
    env_file: PathBuf,
    /// What to measure; without it, exchanges of `--distinct-tokens` tokens with the demo tenant's
    /// policy set to `none`, as BENCHMARKS.md's earlier tables were measured.
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// Exchanges in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of measured load (after a short warm-up).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// How many different A1 tokens to use: few means mostly cache hits, many means mostly ACS calls
    /// [default: 100; with --scenario miss, hero-get and admin-writes 20 000 (admin-writes mints
    /// twice as many, one set per phase); hit, forged-a1, forged-b and expired-a1 1 000].
    #[arg(long)]
    distinct_tokens: Option<usize>,
    /// How many different Entra users the tokens belong to, token n to user n mod N, so requests
    /// take the users in turn [default: one user per token]. Each user may reach ACS 30 times a
    /// minute (burst 10): more than 10 tokens per user in a run of misses measures that limit.
    #[arg(long, value_name = "N")]
    users: Option<usize>,
    /// Skip the warm-up that fills the gateway's cache with every token once.
    #[arg(long)]
    no_warmup: bool,
    /// Stop after this many measured requests (with `--distinct-tokens` at least as large and
    /// `--no-warmup`, every request is a cache miss that calls ACS).
    #[arg(long)]
    requests: Option<usize>,
    /// many-tenants: how many tenants to have in the registry (created if missing).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    tenants: usize,
    /// admin-writes: PATCHes per second, in all.
    #[arg(long, default_value_t = 100)]
    patches_per_second: u32,
    /// admin-writes: how many tenants the PATCHes go to in turn: the tenant under load, then
    /// loadgen tenants (created if missing). Each tenant takes one PATCH at a time (overlapping
    /// PATCHes of one tenant race for its version and are refused 412), so one tenant alone gets
    /// at most one PATCH per PATCH latency.
    #[arg(long, value_name = "N", default_value_t = 1)]
    patch_tenants: usize,
    /// Also print each result as a Markdown table row (`| scenario | in flight | req/s | ...`).
    #[arg(long)]
    markdown: bool,
}

pub async fn run(args: Args) -> ExitCode {
    match load(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("acs-loadgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The stack under load, as its env file describes it.
struct Target {
    gateway: String,
    entra: String,
    admin_key: String,
    tenant: String,
    entra_tenant: String,
    app: String,
    acs_connection_string: String,
    /// Written by `acs-devstack --no-gateway` only: Postgres's transaction counts are read there.
    database_url: Option<String>,
}

fn read_env(path: &std::path::Path) -> anyhow::Result<Target> {
    let vars = crate::stack::read_env_file(path)?;
    let get = |k: &str| vars.get(k).cloned().with_context(|| format!("{k} missing from the env file"));
    Ok(Target {
        gateway: get("ACSGW_URL")?,
        entra: get("DEV_ENTRA_URL")?,
        admin_key: get("DEV_ADMIN_KEY")?,
        tenant: get("DEV_TENANT")?,
        entra_tenant: get("DEV_ENTRA_TENANT_ID")?,
        app: get("DEV_APP_ID")?,
        acs_connection_string: get("DEV_ACS_CONNECTION_STRING")?,
        database_url: vars.get("DATABASE_URL").cloned(),
    })
}

impl Target {
    fn exchange_url(&self, tenant: &str) -> anyhow::Result<reqwest::Url> {
        Ok(format!("{}/v1/tenants/{tenant}/token/teams", self.gateway).parse()?)
    }

    /// The exchange's JSON body: A1, the app and the user.
    fn exchange_body(&self, a1: &str, user: &str) -> String {
        json!({"token": a1, "appId": self.app, "userId": user}).to_string()
    }
}

/// One run: its arguments, the stack, and one HTTP client for everything.
struct Run {
    args: Args,
    target: Target,
    client: reqwest::Client,
    output: Output,
}

impl Run {
    fn admin(&self) -> Admin {
        Admin {
            client: self.client.clone(),
            gateway: self.target.gateway.clone(),
            key: self.target.admin_key.clone(),
        }
    }

    /// The measured part of a run: `--duration`, `--concurrency`, at most `--requests`.
    fn measured(&self, limit: usize) -> Load {
        Load {
            concurrency: self.args.concurrency,
            duration: Some(Duration::from_secs(self.args.duration)),
            limit: limit.min(self.args.requests.unwrap_or(usize::MAX)),
        }
    }
}

async fn load(args: Args) -> anyhow::Result<()> {
    let counts = [
        args.distinct_tokens,
        args.users,
        Some(args.concurrency),
        Some(args.tenants),
        Some(args.patch_tenants),
    ];
    if counts.contains(&Some(0)) || args.patches_per_second == 0 {
        bail!(
            "--distinct-tokens, --users, --concurrency, --tenants, --patch-tenants and --patches-per-second must be at least 1"
        );
    }
    let target = read_env(&args.env_file)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(64))
        .timeout(Duration::from_secs(30))
        .build()?;
    let output = Output { markdown: args.markdown };
    let run = Run { args, target, client, output };
    match run.args.scenario {
        None => unnamed(&run).await,
        Some(Scenario::ManyTenants) => tenants::run(&run).await,
        Some(Scenario::Floor) => floor::run(&run).await,
        Some(scenario) => match scenario.plan() {
            Some(plan) => exchanges::run(&run, scenario, plan).await,
            None => bail!("--scenario {} has no plan", scenario.name()),
        },
    }
}

/// The run without `--scenario`: the demo tenant with policy `none`, `--distinct-tokens` A1s.
async fn unnamed(run: &Run) -> anyhow::Result<()> {
    let (args, target) = (&run.args, &run.target);
    let count = args.distinct_tokens.unwrap_or(100);
    let users = args.users.unwrap_or(count);
    // Policy `none`, as the demo tenant is made, whatever a scenario set before.
    run.admin().prepare(&target.tenant, json!({"type": "none"})).await?;
    eprintln!("minting {count} A1 tokens for {} users", users.min(count));
    let tag = tokens::run_tag();
    let mint_requests = (0..count).map(|n| {
        let holder = tokens::Holder { entra_tenant: target.entra_tenant.clone(), user: user_id(n, users) };
        tokens::a1_request(&holder, &target.app, &format!("loadgen-{tag}-{n}"), tokens::Flaw::None)
    });
    let a1s = tokens::mint(&run.client, &target.entra, mint_requests.collect()).await?;
    let url = target.exchange_url(&target.tenant)?;
    let requests: anyhow::Result<Vec<Prepared>> = a1s
        .iter()
        .enumerate()
        .map(|(n, a1)| Prepared::post_json(&url, target.exchange_body(a1, &user_id(n, users)), None))
        .collect();
    let requests = Arc::new(requests?);
    if !args.no_warmup {
        eprintln!("warm-up: one exchange per token");
        let samples = drive(&run.client, &requests, Load::once_each(args.concurrency, requests.len())).await;
        report::print("warm-up (every token once: ACS calls)", &samples);
    }
    eprintln!("measuring for {} s with {} in flight", args.duration, args.concurrency);
    let samples = drive(&run.client, &requests, run.measured(usize::MAX)).await;
    let summary = report::Summary::of(&samples);
    run.output.result("measured", &summary, args.concurrency, "");
    Ok(())
}
