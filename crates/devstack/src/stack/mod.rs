//! `acs-devstack`: Postgres, the dev Entra issuer, the ACS emulator and the gateway, in one process,
//! with an admin key and a demo tenant, ready for `curl`; or, with `--no-gateway`, everything but the
//! gateway, which then runs as its own process from the env file.

mod data_dir;
mod demo;
mod lifecycle;
mod postgres;
mod secrets;
mod separate;
mod signals;
mod smoke;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use local_pg::LocalPgError;

pub use self::demo::read_env_file;
use self::signals::StopSignal;
use crate::{
    emulator::{self, Clock, EmulatorConfig, Faults},
    issuer::DevIssuer,
};

/// A bad flag or setting: the message names it, and the process exits with 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadArgument(pub String);

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
    /// Where the private Postgres cluster and the stack's secrets live [default: .devstack; with
    /// --smoke, a temporary directory removed afterwards]. One stack at a time per directory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Start everything, check it end to end, stop, and exit 0 only if it all worked. Uses free
    /// ports and, unless --data-dir is given, a data dir of its own, so a running stack is untouched.
    #[arg(long)]
    smoke: bool,

    /// Once ready, write KEY='value' lines (ACSGW_URL, DEV_ENTRA_URL, DEV_ACS_ENDPOINT, ...) to PATH.
    #[arg(long, value_name = "PATH")]
    env_file: Option<PathBuf>,

    /// Start everything but the gateway (Postgres, issuer, emulator, the schema, the admin key and
    /// the demo tenant) and add to --env-file what `acs-gateway serve` needs to join them
    /// (DATABASE_URL, ACSGW_LISTEN, ACSGW_SECRET_KEYS, ACSGW_ENTRA_AUTHORITY_HOST,
    /// ACSGW_ALLOW_INSECURE_HTTP), so the gateway runs as a process of its own, e.g. on its own core.
    #[arg(long, requires = "env_file", conflicts_with = "smoke")]
    no_gateway: bool,

    /// Gateway listen address (port 0 picks a free port; with --no-gateway, picked now and written
    /// to the env file for the gateway to take).
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

impl FaultArgs {
    /// The emulator's fault settings, checked by the emulator's own rules; a bad value is a
    /// [`BadArgument`] naming the flag.
    fn validated(&self) -> Result<Faults, BadArgument> {
        let faults = Faults {
            latency_ms: self.acs_latency_ms,
            error_rate: self.acs_error_rate,
            throttle_rate: self.acs_throttle_rate,
            retry_after_seconds: self.acs_retry_after_seconds,
            reset_rate: self.acs_reset_rate,
        };
        faults.validate().map_err(|message| {
            // The emulator names its JSON fields; here they are flags.
            let message = [
                ("errorRate", "--acs-error-rate"),
                ("throttleRate", "--acs-throttle-rate"),
                ("resetRate", "--acs-reset-rate"),
            ]
            .into_iter()
            .fold(message, |message, (field, flag)| message.replace(field, flag));
            BadArgument(message)
        })?;
        Ok(faults)
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
    // Held until exit, so that the lines still queued are written.
    let _logs = gateway::telemetry::init(gateway::settings::log_format_from_env());
    let result = match cli.command {
        None => lifecycle::run_stack(cli.stack).await,
        Some(Component::Issuer { listen }) => run_issuer(listen).await,
        Some(Component::Emulator { listen, entra_url, access_key, faults }) => {
            run_emulator(listen, entra_url, access_key, &faults).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("acs-devstack: {error:#}");
            ExitCode::from(exit_code(&error))
        }
    }
}

/// 2 for what the user must fix before running again (a bad flag, Postgres not installed), as
/// API.md's exit codes say; 1 for anything else.
fn exit_code(error: &anyhow::Error) -> u8 {
    let fix_first = error.chain().any(|cause| {
        cause.is::<BadArgument>()
            || matches!(
                cause.downcast_ref(),
                Some(LocalPgError::BinariesMissing | LocalPgError::NoPostgresUser)
            )
    });
    if fix_first { 2 } else { 1 }
}

fn bind(address: SocketAddr, what: &str) -> anyhow::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(address).with_context(|| format!("cannot listen on {address} for the {what}"))
}

async fn run_issuer(listen: SocketAddr) -> anyhow::Result<()> {
    let mut stop = StopSignal::install()?;
    let issuer = DevIssuer::new()?.start(bind(listen, "dev Entra issuer")?).await?;
    eprintln!("dev Entra issuer at {}", issuer.base_url());
    stop.received().await;
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
    let faults = faults.validated()?;
    let mut stop = StopSignal::install()?;
    let access_key = match access_key {
        Some(key) => secrets::decode_key(&key).context("--access-key must be base64")?,
        None => secrets::random_bytes(),
    };
    let config = EmulatorConfig {
        access_key,
        resource_id: uuid::Uuid::new_v4(),
        entra_url: entra_url.trim_end_matches('/').to_owned(),
        faults,
        clock: Clock::real(),
    };
    let acs = emulator::start(bind(listen, "ACS emulator")?, config).await?;
    eprintln!("ACS emulator at {}", acs.endpoint());
    println!("{}", acs.connection_string());
    stop.received().await;
    acs.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_postgres_binaries_exit_with_2() {
        let error = anyhow::Error::new(LocalPgError::BinariesMissing).context("cannot start Postgres");
        assert_eq!(exit_code(&error), 2);
        assert_eq!(exit_code(&anyhow::Error::new(LocalPgError::NoPostgresUser)), 2);
    }

    #[test]
    fn bad_arguments_exit_with_2_and_other_failures_with_1() {
        let bad = anyhow::Error::new(BadArgument("--acs-error-rate ...".into())).context("starting");
        assert_eq!(exit_code(&bad), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("cannot listen on 127.0.0.1:8080")), 1);
        let start = LocalPgError::Start("pg_ctl start failed".into());
        assert_eq!(exit_code(&anyhow::Error::new(start)), 1);
    }

    #[test]
    fn bad_fault_rates_are_refused_naming_the_flag() {
        let args = |error: f64, throttle: f64, reset: f64| FaultArgs {
            acs_latency_ms: 0,
            acs_error_rate: error,
            acs_throttle_rate: throttle,
            acs_retry_after_seconds: 1,
            acs_reset_rate: reset,
        };
        for (faults, flag) in [
            (args(1.5, 0.0, 0.0), "--acs-error-rate"),
            (args(0.0, f64::NAN, 0.0), "--acs-throttle-rate"),
            (args(0.0, 0.0, -0.1), "--acs-reset-rate"),
        ] {
            let BadArgument(message) = faults.validated().unwrap_err();
            assert!(message.starts_with(flag), "{message}");
        }
        assert_eq!(args(0.2, 1.0, 0.0).validated().unwrap().throttle_rate, 1.0);
    }
}
