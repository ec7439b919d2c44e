//! `--no-gateway`: Postgres, the dev issuer and the ACS emulator, the schema, the admin key and the
//! demo tenant, but no gateway, so that a benchmark can start `acs-gateway serve` as a process of
//! its own and pin it to a core apart from the stand-ins. The env file then carries, after the
//! stack's lines, what that gateway needs: the values the gateway inside the stack gets, without the
//! stack's own tuning, so every other setting keeps the gateway's default.

use std::{net::SocketAddr, path::Path, sync::Arc};

use anyhow::Context as _;
use registry::sealing::Keyring;
use sqlx::PgPool;

use super::{StackArgs, bind, demo};
use crate::{emulator::RunningEmulator, issuer::RunningIssuer};

/// The running stand-ins, and what a gateway needs to join them.
pub struct StandIns<'a> {
    pub issuer: &'a RunningIssuer,
    pub acs: &'a RunningEmulator,
    /// Where the separate gateway is to listen (as in `ACSGW_LISTEN`).
    pub gateway_listen: SocketAddr,
    /// `DATABASE_URL` and the `ACSGW_*` values for the separate gateway.
    pub gateway_env: &'a [(&'static str, String)],
}

/// The address the separate gateway will listen on, checked free now; port 0 becomes a free port.
/// The port is released again at once, so another process could take it before the gateway does
/// (the gateway would then say so and exit).
pub fn reserve_port(listen: SocketAddr) -> anyhow::Result<SocketAddr> {
    Ok(bind(listen, "gateway (--no-gateway keeps its port for it)")?.local_addr()?)
}

/// Applies the schema (the gateway inside the stack would), prepares the demo, writes the env file,
/// then serves until a stop signal ends this future from outside (`run_stack`).
pub async fn serve(
    args: &StackArgs,
    database_url: &str,
    keyring: Arc<Keyring>,
    stand_ins: &StandIns<'_>,
) -> anyhow::Result<()> {
    migrate(database_url).await?;
    let connection_string = stand_ins.acs.connection_string();
    let demo = demo::prepare(database_url, keyring, &connection_string).await?;
    let urls = demo::Urls {
        gateway: format!("http://127.0.0.1:{}", stand_ins.gateway_listen.port()),
        entra: stand_ins.issuer.base_url().to_owned(),
        acs: stand_ins.acs.endpoint().to_owned(),
    };
    // clap makes --no-gateway require --env-file.
    let path = args.env_file.as_deref().context("--no-gateway needs --env-file")?;
    demo::write_env_file(path, &urls, &demo, &connection_string, stand_ins.gateway_env)?;
    print_banner(&urls, path);
    std::future::pending::<()>().await;
    Ok(())
}

async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let pool = PgPool::connect(database_url).await.context("cannot connect to the stack's database")?;
    let applied = registry::migrate::run(&pool).await;
    pool.close().await;
    applied.context("cannot apply the registry's migrations")?;
    Ok(())
}

fn print_banner(urls: &demo::Urls, env_file: &Path) {
    let demo::Urls { gateway, entra, acs } = urls;
    let env_file = env_file.display();
    eprintln!(
        r#"
ACS Teams Token Gateway devstack is up without its gateway (Ctrl-C stops everything).

  dev Entra issuer {entra}
  ACS emulator     {acs}
  demo tenant      {slug}
  env file         {env_file}

# Start the gateway on {gateway}, as a process of its own (prefix `taskset -c 0` to pin it):
(set -a; . {env_file}; exec acs-gateway serve)
"#,
        slug = demo::SLUG,
    );
}
