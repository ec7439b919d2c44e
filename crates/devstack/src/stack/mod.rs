//! `acs-devstack`: Postgres, the dev Entra issuer, the ACS emulator and the gateway, in one process,
//! with an admin key and a demo tenant, ready for `curl`.

mod demo;
mod postgres;
mod secrets;
mod smoke;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use gateway::{
    Application,
    settings::{DatabaseSettings, Settings},
};
use registry::sealing::Keyring;
use secrecy::SecretString;

use crate::{
    emulator::{self, EmulatorConfig, Faults},
    issuer::DevIssuer,
};

/// The whole ACS Teams Token Gateway locally: a Postgres (a private cluster under --data-dir when
/// DATABASE_URL is unset), a dev Entra issuer, an ACS Identity emulator and the gateway, with an admin
/// key and a demo tenant. Prints URLs and ready-to-paste curl lines; Ctrl-C stops everything.
#[derive(Debug, Parser)]
#[command(name = "acs-devstack", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Component>,

    #[command(flatten)]
    stack: StackArgs,
}

#[derive(Debug, Args)]
struct StackArgs {
    /// Where the private Postgres cluster and the stack's secrets live.
    #[arg(long, default_value = ".devstack", value_name = "DIR")]
    data_dir: PathBuf,

    /// Start everything, check it end to end, stop, and exit 0 only if it all worked.
    #[arg(long)]
    smoke: bool,

    /// Once ready, write KEY=value lines (ACSGW_URL, DEV_ENTRA_URL, DEV_ACS_ENDPOINT, ...) to PATH.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,

    /// Gateway listen address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    gateway_listen: SocketAddr,

    /// Dev Entra issuer listen address.
    #[arg(long, default_value = "127.0.0.1:8090")]
    entra_listen: SocketAddr,

    /// ACS emulator listen address.
    #[arg(long, default_value = "127.0.0.1:8091")]
    acs_listen: SocketAddr,

    #[command(flatten)]
    faults: FaultArgs,
}

/// Faults the ACS emulator injects (also settable at run time with POST /dev/faults).
#[derive(Debug, Clone, Args)]
struct FaultArgs {
    /// Added latency on every Identity request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    acs_latency_ms: u64,
    /// Share of Identity requests answered with a 5xx (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    acs_error_rate: f64,
    /// Share of Identity requests answered 429 with Retry-After (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    acs_throttle_rate: f64,
    /// Retry-After seconds sent with injected 429s.
    #[arg(long, default_value_t = 1)]
    acs_retry_after_seconds: u64,
    /// Share of Identity requests whose connection is cut (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    acs_reset_rate: f64,
}

impl From<&FaultArgs> for Faults {
    fn from(args: &FaultArgs) -> Self {
        Faults {
            latency_ms: args.acs_latency_ms,
            error_rate: args.acs_error_rate,
            throttle_rate: args.acs_throttle_rate,
            retry_after_seconds: args.acs_retry_after_seconds,
            reset_rate: args.acs_reset_rate,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Component {
    /// Run only the dev Entra issuer (e.g. as a container next to a real deployment).
    Issuer {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
    },
    /// Run only the ACS emulator.
    Emulator {
        #[arg(long, default_value = "127.0.0.1:8091")]
        listen: SocketAddr,
        /// The dev Entra issuer whose keys sign A1 tokens and bearer credentials.
        #[arg(long, env = "DEV_ENTRA_URL")]
        entra_url: String,
        /// The resource's access key, base64 (32 random bytes when omitted; printed at start).
        #[arg(long, env = "DEV_ACS_ACCESS_KEY")]
        access_key: Option<String>,
        #[command(flatten)]
        faults: FaultArgs,
    },
}

pub async fn run(cli: Cli) -> ExitCode {
    gateway::telemetry::init(gateway::settings::log_format_from_env());
    let result = match cli.command {
        None => run_stack(cli.stack).await,
        Some(Component::Issuer { listen }) => run_issuer(listen).await,
        Some(Component::Emulator { listen, entra_url, access_key, faults }) => {
            run_emulator(listen, entra_url, access_key, &faults).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("acs-devstack: {error:#}");
            let missing_binaries = error
                .chain()
                .any(|e| matches!(e.downcast_ref(), Some(registry::local_pg::LocalPgError::BinariesMissing)));
            ExitCode::from(if missing_binaries { 2 } else { 1 })
        }
    }
}

fn bind(address: SocketAddr, what: &str) -> anyhow::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(address).with_context(|| format!("cannot listen on {address} for the {what}"))
}

async fn run_issuer(listen: SocketAddr) -> anyhow::Result<()> {
    let issuer = DevIssuer::new()?.start(bind(listen, "dev Entra issuer")?).await?;
    eprintln!("dev Entra issuer at {}", issuer.base_url());
    shutdown_signal().await;
    issuer.stop().await;
    Ok(())
}

#[expect(clippy::print_stdout, reason = "the connection string is the command's output, for scripts")]
async fn run_emulator(
    listen: SocketAddr,
    entra_url: String,
    access_key: Option<String>,
    faults: &FaultArgs,
) -> anyhow::Result<()> {
    let access_key = match access_key {
        Some(key) => secrets::decode_key(&key).context("--access-key must be base64")?,
        None => secrets::random_bytes(),
    };
    let config = EmulatorConfig {
        access_key,
        resource_id: uuid::Uuid::new_v4(),
        entra_url: entra_url.trim_end_matches('/').to_owned(),
        faults: faults.into(),
    };
    let acs = emulator::start(bind(listen, "ACS emulator")?, config).await?;
    eprintln!("ACS emulator at {}", acs.endpoint());
    println!("{}", acs.connection_string());
    shutdown_signal().await;
    acs.stop().await;
    Ok(())
}

async fn run_stack(args: StackArgs) -> anyhow::Result<()> {
    let (gateway_listen, entra_listen, acs_listen) = if args.smoke {
        // A smoke run must not collide with a stack already running on the default ports.
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        (any, any, any)
    } else {
        (args.gateway_listen, args.entra_listen, args.acs_listen)
    };
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create --data-dir {}", args.data_dir.display()))?;
    let secrets = secrets::load_or_create(&args.data_dir)?;
    let database = postgres::Database::start(&args.data_dir).await?;

    let issuer = DevIssuer::new()?.start(bind(entra_listen, "dev Entra issuer")?).await?;
    let acs = emulator::start(
        bind(acs_listen, "ACS emulator")?,
        EmulatorConfig {
            access_key: secrets.access_key.clone(),
            resource_id: secrets.resource_id,
            entra_url: issuer.base_url().to_owned(),
            faults: (&args.faults).into(),
        },
    )
    .await?;

    let settings = Settings {
        database: DatabaseSettings {
            url: SecretString::from(database.url().to_owned()),
            max_connections: 10,
        },
        listen: gateway_listen,
        keyring: Arc::new(Keyring::parse(&secrets.keyring)?),
        entra_authority_host: url::Url::parse(issuer.base_url())?,
        acs_api_version: "2023-10-01".to_owned(),
        allow_insecure_http: true,
        log_format: gateway::settings::log_format_from_env(),
        migrate_on_start: true,
        tenant_cache_ttl: Duration::from_secs(10),
        shutdown_timeout: Duration::from_secs(5),
        // The dev issuer rotates on demand: pick up its new keys within seconds.
        key_refresh_cooldown: Duration::from_secs(5),
        heartbeat_interval: Duration::from_secs(5),
        acs_attempt_timeout: Duration::from_secs(5),
        acs_total_timeout: Duration::from_secs(10),
        metrics_listen: None,
        stats_flush_interval: Duration::from_secs(10),
    };
    let keyring = settings.keyring.clone();
    let app = Application::build(settings).await?;
    let gateway_url = format!("http://127.0.0.1:{}", app.port());
    let gateway_handle = app.handle();
    let gateway_task = tokio::spawn(app.run_until_stopped());

    let demo = demo::prepare(database.url(), keyring, &acs.connection_string()).await?;
    let urls = demo::Urls {
        gateway: gateway_url,
        entra: issuer.base_url().to_owned(),
        acs: acs.endpoint().to_owned(),
    };
    if let Some(path) = &args.env_file {
        demo::write_env_file(path, &urls, &demo, &acs.connection_string())?;
    }

    let outcome = if args.smoke {
        smoke::check(&urls, &demo).await
    } else {
        demo::print_banner(&urls, &demo);
        tokio::select! {
            () = shutdown_signal() => eprintln!("stopping..."),
            finished = gateway_task => eprintln!("the gateway stopped unexpectedly: {finished:?}"),
        }
        Ok(())
    };

    gateway_handle.stop(true).await;
    acs.stop().await;
    issuer.stop().await;
    database.stop().await?;
    outcome
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
