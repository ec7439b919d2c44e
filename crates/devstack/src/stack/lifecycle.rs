//! One run of the whole stack: start the parts in order, serve (or smoke-test), then stop every part
//! that was started, on every way out: success, a failed step, a signal during start-up, or a
//! gateway that stopped by itself. Postgres is stopped last, and only if this run started it.

use std::time::Duration;

use actix_web::dev::ServerHandle;
use anyhow::{Context as _, anyhow};
use gateway::{
    Application,
    settings::{Settings, Source},
};
use tokio::task::JoinHandle;

use super::{
    StackArgs, bind, data_dir::DataDir, demo, postgres::Database, secrets, separate, signals::StopSignal,
    smoke,
};
use crate::{
    emulator::{self, Clock, EmulatorConfig, Faults, RunningEmulator},
    issuer::{DevIssuer, RunningIssuer},
};

/// How long a gateway that stopped gets for the signal that stopped it to show up here too (the
/// gateway's server listens for Ctrl-C itself).
const SIGNAL_GRACE: Duration = Duration::from_millis(500);
/// How long the gateway gets to finish its requests and its last statistics flush.
const GATEWAY_STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn run_stack(args: StackArgs) -> anyhow::Result<()> {
    let faults = args.faults.validated()?;
    let stop = StopSignal::install()?;
    let data_dir = DataDir::claim(args.data_dir.as_deref(), args.smoke)?;
    let mut parts = Parts::default();
    let outcome = {
        let mut interrupted = stop.clone();
        tokio::select! {
            outcome = run(&args, faults, &data_dir, &mut parts, stop) => outcome,
            () = interrupted.received() => {
                eprintln!("stopping...");
                if args.smoke { Err(anyhow!("the smoke run was interrupted")) } else { Ok(()) }
            }
        }
    };
    let stopped = parts.stop().await;
    data_dir.release();
    outcome.and(stopped)
}

/// What has been started so far, to be stopped in reverse order whatever happens.
#[derive(Default)]
struct Parts {
    /// Postgres while it starts: a spawned task, so that a signal cannot cut the start short and
    /// leave a cluster running that nothing knows about.
    database_start: Option<JoinHandle<anyhow::Result<Database>>>,
    database: Option<Database>,
    issuer: Option<RunningIssuer>,
    acs: Option<RunningEmulator>,
    gateway: Option<(ServerHandle, JoinHandle<std::io::Result<()>>)>,
}

impl Parts {
    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some((handle, task)) = self.gateway.take() {
            handle.stop(true).await;
            if tokio::time::timeout(GATEWAY_STOP_TIMEOUT, task).await.is_err() {
                eprintln!("acs-devstack: the gateway did not stop within {GATEWAY_STOP_TIMEOUT:?}");
            }
        }
        if let Some(acs) = self.acs.take() {
            acs.stop().await;
        }
        if let Some(issuer) = self.issuer.take() {
            issuer.stop().await;
        }
        if let Some(start) = self.database_start.take() {
            // Let the start finish, so what it started can be stopped.
            if let Ok(Ok(database)) = start.await {
                self.database = Some(database);
            }
        }
        match self.database.take() {
            Some(database) => database.stop().await.context("could not stop the private Postgres"),
            None => Ok(()),
        }
    }
}

async fn run(
    args: &StackArgs,
    faults: Faults,
    data_dir: &DataDir,
    parts: &mut Parts,
    mut stop: StopSignal,
) -> anyhow::Result<()> {
    let (gateway_listen, entra_listen, acs_listen) = if args.smoke {
        // A smoke run leaves a running stack alone: free ports here, and a data dir of its own
        // unless --data-dir names one (`DataDir::claim`, which also refuses a directory in use).
        let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        (any, any, any)
    } else {
        (args.gateway_listen, args.entra_listen, args.acs_listen)
    };
    // Everything that can fail fast does so before Postgres starts.
    let entra_listener = bind(entra_listen, "dev Entra issuer")?;
    let acs_listener = bind(acs_listen, "ACS emulator")?;
    let gateway_listen = match args.no_gateway {
        // The gateway starts later as a process of its own: its port goes into the env file now.
        true => separate::reserve_port(gateway_listen)?,
        false => gateway_listen,
    };
    let secrets = secrets::load_or_create(data_dir.path())?;

    let start = parts.database_start.insert(tokio::spawn(Database::start(data_dir.path().to_owned())));
    let database = start.await;
    // No await between the start's end and forgetting its task: a cancellation sees one or the other.
    parts.database_start = None;
    let database = parts.database.insert(database.context("the Postgres start-up task failed")??);

    let issuer = parts.issuer.insert(DevIssuer::new()?.start(entra_listener).await?);
    let acs = parts.acs.insert(
        emulator::start(
            acs_listener,
            EmulatorConfig {
                access_key: secrets.access_key.clone(),
                resource_id: secrets.resource_id,
                entra_url: issuer.base_url().to_owned(),
                faults,
                clock: Clock::real(),
            },
        )
        .await?,
    );
    // The issuer's test users without a Teams licence get ACS's licence refusal from the emulator.
    acs.refuse_unlicensed_users_of(std::sync::Arc::new(issuer.issuer().clone()));

    let gateway_env = gateway_env(database.url(), gateway_listen, &secrets.keyring, issuer.base_url());
    let settings = gateway_settings(&gateway_env)?;
    let keyring = settings.keyring.clone();
    if args.no_gateway {
        let stand_ins = separate::StandIns { issuer, acs, gateway_listen, gateway_env: &gateway_env };
        return separate::serve(args, database.url(), keyring, &stand_ins).await;
    }
    let app = Application::build(settings)
        .await
        .with_context(|| format!("the gateway could not start (--gateway-listen {gateway_listen})"))?;
    let gateway_url = format!("http://127.0.0.1:{}", app.port());
    let (_, gateway_task) = parts.gateway.insert((app.handle(), tokio::spawn(app.run_until_stopped())));

    let demo = demo::prepare(database.url(), keyring, &acs.connection_string()).await?;
    let urls = demo::Urls {
        gateway: gateway_url,
        entra: issuer.base_url().to_owned(),
        acs: acs.endpoint().to_owned(),
    };
    if let Some(path) = &args.env_file {
        demo::write_env_file(path, &urls, &demo, &acs.connection_string(), &[])?;
    }
    if args.smoke {
        return smoke::check(&urls, &demo).await;
    }
    demo::print_banner(&urls, &demo);
    // A stop signal ends this future from outside (`run_stack`); here, only the gateway can end it.
    let finished = gateway_task.await;
    // Finished: there is nothing left to stop, and a finished task must not be awaited again.
    parts.gateway = None;
    if tokio::time::timeout(SIGNAL_GRACE, stop.received()).await.is_ok() {
        // The gateway's server heard the same Ctrl-C and stopped first.
        eprintln!("stopping...");
        return Ok(());
    }
    let why = match finished {
        Ok(Ok(())) => "it stopped without an error".to_owned(),
        Ok(Err(error)) => error.to_string(),
        Err(error) => error.to_string(),
    };
    Err(anyhow!("the gateway stopped unexpectedly: {why}"))
}

/// What any gateway needs to run against this stack: its database, address, keyring and the dev
/// issuer. `--no-gateway` writes exactly these into the env file for a gateway started separately.
fn gateway_env(
    database_url: &str,
    listen: std::net::SocketAddr,
    keyring: &str,
    entra_url: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("ACSGW_LISTEN", listen.to_string()),
        ("ACSGW_SECRET_KEYS", keyring.to_owned()),
        ("ACSGW_ENTRA_AUTHORITY_HOST", entra_url.to_owned()),
        ("ACSGW_ALLOW_INSECURE_HTTP", "true".to_owned()),
        // Onboarding (invitations, the consent pages) as the demo vendor, with the demo client app.
        // The links name the address given: right whenever --gateway-listen names a port (the
        // default does), `:0` otherwise.
        ("ACSGW_PUBLIC_BASE_URL", format!("http://{listen}")),
        ("ACSGW_ONBOARDING_CLIENT_ID", demo::APP_ID.to_owned()),
        ("ACSGW_ONBOARDING_CLIENT_SECRET", ONBOARDING_CLIENT_SECRET.to_owned()),
        ("ACSGW_VENDOR_NAME", "Contoso (devstack)".to_owned()),
    ]
}

/// The demo client app's secret at the dev issuer (a dev value, never a real one).
const ONBOARDING_CLIENT_SECRET: &str = "devstack-onboarding-secret";

/// The gateway's settings for the stack, through the gateway's own parser, so every setting the
/// stack does not decide keeps the gateway's default.
fn gateway_settings(gateway_env: &[(&'static str, String)]) -> anyhow::Result<Settings> {
    // Only for the gateway inside this process; a separate one keeps its defaults for these.
    let in_process = [
        ("ACSGW_DB_MAX_CONNECTIONS", "10"),
        ("ACSGW_MIGRATE_ON_START", "true"),
        ("ACSGW_SHUTDOWN_TIMEOUT_SECONDS", "5"),
        // The dev issuer rotates on demand: pick up its new keys within seconds.
        ("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "5"),
    ];
    let source = Source::from_env_fn(|name| {
        let given =
            gateway_env.iter().find(|(variable, _)| *variable == name).map(|(_, value)| value.as_str());
        let stack = || in_process.iter().find(|(variable, _)| *variable == name).map(|(_, value)| *value);
        given.or_else(stack).map(str::to_owned)
    })?;
    let mut settings = Settings::from_source(&source)?;
    settings.log_format = gateway::settings::log_format_from_env();
    Ok(settings)
}
