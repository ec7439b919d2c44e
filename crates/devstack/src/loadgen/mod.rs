//! `acs-loadgen`: exchanges per second and latency of a running gateway, against the devstack's issuer
//! and emulator (start `acs-devstack --env-file PATH` first). It mints `--distinct-tokens` A1 tokens
//! spread over `--users` Entra users (so that the gateway's per-user limit, 30 exchanges a minute by
//! default, is not what gets measured), lifts the demo tenant's rate limit, then keeps
//! `--concurrency` exchanges in flight for `--duration` seconds and reports throughput, latency
//! percentiles and answers by status. See BENCHMARKS.md for the figures and how to reproduce them.

mod report;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

/// Load generator for the exchange endpoint.
#[derive(Debug, Parser)]
#[command(name = "acs-loadgen", version, about, long_about)]
pub struct Args {
    /// The `--env-file` written by `acs-devstack`.
    #[arg(long, value_name = "PATH")]
    env_file: PathBuf,
    /// Exchanges in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds of measured load (after a short warm-up).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// How many different A1 tokens to use: few means mostly cache hits, many means mostly ACS calls.
    #[arg(long, default_value_t = 100)]
    distinct_tokens: usize,
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

struct Target {
    gateway: String,
    entra: String,
    admin_key: String,
    tenant: String,
    entra_tenant: String,
    app: String,
}

fn read_env(path: &Path) -> anyhow::Result<Target> {
    let vars = crate::stack::read_env_file(path)?;
    let get = |k: &str| vars.get(k).cloned().with_context(|| format!("{k} missing from the env file"));
    Ok(Target {
        gateway: get("ACSGW_URL")?,
        entra: get("DEV_ENTRA_URL")?,
        admin_key: get("DEV_ADMIN_KEY")?,
        tenant: get("DEV_TENANT")?,
        entra_tenant: get("DEV_ENTRA_TENANT_ID")?,
        app: get("DEV_APP_ID")?,
    })
}

/// The Entra user (`oid`) of the `n`th of `users` loadgen users: fixed, so runs are alike.
fn user_id(n: usize, users: usize) -> String {
    format!("10ad0000-0000-4000-8000-{:012x}", n % users)
}

async fn load(args: Args) -> anyhow::Result<()> {
    if args.distinct_tokens == 0 || args.users == Some(0) || args.concurrency == 0 {
        bail!("--distinct-tokens, --users and --concurrency must be at least 1");
    }
    let users = args.users.unwrap_or(args.distinct_tokens);
    let target = read_env(&args.env_file)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    lift_limit(&client, &target).await?;
    let tokens = mint(&client, &target, args.distinct_tokens, users).await?;
    let body = |n: usize, token: &str| {
        json!({"token": token, "appId": target.app, "userId": user_id(n, users)}).to_string()
    };
    let bodies: Arc<Vec<String>> = Arc::new(tokens.iter().enumerate().map(|(n, t)| body(n, t)).collect());
    let url = Arc::new(format!("{}/v1/tenants/{}/token/teams", target.gateway, target.tenant));
    if !args.no_warmup {
        eprintln!("warm-up: one exchange per token");
        let samples = drive(&client, &url, &bodies, args.concurrency, None, bodies.len()).await;
        report::print("warm-up (every token once: ACS calls)", &samples);
    }
    eprintln!("measuring for {} s with {} in flight", args.duration, args.concurrency);
    let limit = args.requests.unwrap_or(usize::MAX);
    let samples =
        drive(&client, &url, &bodies, args.concurrency, Some(Duration::from_secs(args.duration)), limit)
            .await;
    report::print("measured", &samples);
    Ok(())
}

/// The demo tenant's default limit (ACS's 500 per 30 s) would measure the limiter, not the gateway.
async fn lift_limit(client: &reqwest::Client, target: &Target) -> anyhow::Result<()> {
    let response = client
        .patch(format!("{}/admin/v1/tenants/{}", target.gateway, target.tenant))
        .bearer_auth(&target.admin_key)
        .header("If-Match", "*")
        .header("Content-Type", "application/merge-patch+json")
        .body(json!({"limits": {"exchangesPerSecond": 100000, "burst": 100000}}).to_string())
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("could not lift the demo tenant's limit: HTTP {}", response.status());
    }
    // Let every replica hear of the change.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}

/// `count` A1 tokens, the `n`th for user `n mod users`.
async fn mint(
    client: &reqwest::Client,
    target: &Target,
    count: usize,
    users: usize,
) -> anyhow::Result<Vec<String>> {
    eprintln!("minting {count} A1 tokens for {} users", users.min(count));
    // Distinct from an earlier run's tokens, so a second run against the same gateway misses too.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut tokens = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(64) {
        let requests = chunk.iter().map(|&n| {
            let (oid, uti) = (user_id(n, users), format!("loadgen-{}-{n}", &run[..8]));
            client
                .post(format!("{}/dev/tokens", target.entra))
                .json(&json!({"tenantId": target.entra_tenant, "oid": oid, "appId": target.app,
                    "claims": {"uti": uti}}))
                .send()
        });
        for response in futures_util::future::join_all(requests).await {
            let body: serde_json::Value = response?.error_for_status()?.json().await?;
            tokens.push(body["token"].as_str().context("no token minted")?.to_owned());
        }
    }
    Ok(tokens)
}

/// One measured answer: latency and HTTP status (0 when the request failed).
pub struct Sample {
    pub latency: Duration,
    pub status: u16,
    pub elapsed_total: Duration,
}

/// Keeps `concurrency` requests in flight until `duration` passes or `limit` requests were sent.
async fn drive(
    client: &reqwest::Client,
    url: &Arc<String>,
    bodies: &Arc<Vec<String>>,
    concurrency: usize,
    duration: Option<Duration>,
    limit: usize,
) -> Vec<Sample> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers = (0..concurrency).map(|_| {
        let (client, url, bodies, next) = (client.clone(), url.clone(), bodies.clone(), next.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit || duration.is_some_and(|d| started.elapsed() >= d) {
                    return samples;
                }
                let body = bodies[n % bodies.len()].clone();
                let sent = Instant::now();
                let status = match client
                    .post(url.as_str())
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await
                {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                samples.push(Sample { latency: sent.elapsed(), status, elapsed_total: started.elapsed() });
            }
        })
    });
    let mut all = Vec::new();
    for worker in futures_util::future::join_all(workers).await {
        all.extend(worker.unwrap_or_default());
    }
    all
}
