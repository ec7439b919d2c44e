//! The command line: `serve`, `migrate`, `admin-key create | list | revoke`, `reseal`.

mod admin_key;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use registry::{audit::Actor, tenants::TenantStore};

use self::admin_key::AdminKeyCommand;
use crate::{
    Application,
    settings::{DatabaseSettings, LogSettings, Settings, SettingsError, Source},
    startup, telemetry,
};

/// ACS Teams Token Gateway: exchanges Microsoft Entra tokens of Teams users for Azure Communication
/// Services tokens, for many customer tenants.
///
/// Configuration comes from the environment (DATABASE_URL, ACSGW_*; see the README), optionally
/// under a TOML file given with --config. Exit codes: 0 success, 2 bad configuration or arguments,
/// 1 anything else.
#[derive(Debug, Parser)]
#[command(name = "acs-gateway", version, about, long_about)]
pub struct Cli {
    /// A TOML file of settings (keys are the variable names in lower case without ACSGW_, e.g.
    /// listen = "0.0.0.0:8080"); the environment overrides it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (needs DATABASE_URL and ACSGW_SECRET_KEYS).
    Serve,
    /// Apply the registry's database migrations and exit (needs DATABASE_URL).
    Migrate,
    /// Create, list and revoke admin API keys (needs DATABASE_URL).
    AdminKey {
        #[command(subcommand)]
        command: AdminKeyCommand,
    },
    /// Seal every stored secret again under the first key of ACSGW_SECRET_KEYS, after adding a new
    /// key in front. Old keys can be removed once this has run.
    Reseal,
}

pub async fn run(cli: Cli) -> ExitCode {
    // Logging starts once the settings are read, so the config file's log settings apply too. The
    // guard lives to the end, so that the lines still queued are written before the process exits.
    let settings = Source::load(cli.config.as_deref())
        .and_then(|source| LogSettings::from_source(&source).map(|log| (source, log)));
    let (source, _logs) = match settings {
        Ok((source, log)) => (source, telemetry::install(&log)),
        Err(error) => return config_error(&error),
    };
    match execute(cli.command, &source).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(error)) => config_error(&error),
        Err(Failure::Other(error)) => {
            tracing::error!(error = format!("{error:#}"), "acs-gateway failed");
            eprintln!("acs-gateway: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn config_error(error: &SettingsError) -> ExitCode {
    eprintln!("acs-gateway: configuration error: {error}");
    ExitCode::from(2)
}

enum Failure {
    Config(SettingsError),
    Other(anyhow::Error),
}

impl From<SettingsError> for Failure {
    fn from(error: SettingsError) -> Self {
        Self::Config(error)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::Other(error)
    }
}

#[expect(clippy::print_stdout, reason = "commands print their result for scripts")]
async fn execute(command: Command, source: &Source) -> Result<(), Failure> {
    match command {
        Command::Serve => {
            let settings = Settings::from_source(source)?;
            let app = Application::build(settings).await?;
            app.run_until_stopped().await.map_err(anyhow::Error::from)?;
            tracing::info!("gateway stopped");
        }
        Command::Migrate => {
            let pool = startup::pool(&DatabaseSettings::from_source(source)?)?;
            let applied = registry::migrate::run(&pool).await.map_err(anyhow::Error::from)?;
            println!(
                "migrations applied: {}",
                if applied.is_empty() { "none (up to date)".into() } else { format!("{applied:?}") }
            );
        }
        Command::AdminKey { command } => admin_key::execute(command, source).await?,
        Command::Reseal => {
            let settings = Settings::from_source(source)?;
            let pool = startup::pool(&settings.database)?;
            let store = TenantStore::new(pool, settings.keyring.clone(), Default::default());
            let changed = store.reseal_all(&Actor::cli("reseal")).await.map_err(anyhow::Error::from)?;
            println!(
                "resealed the secrets of {changed} tenant(s) under key {:?}",
                settings.keyring.sealing_key_id()
            );
        }
    }
    Ok(())
}
