//! A real Postgres for integration tests and the devstack. Never a dependency of the production
//! binary: a dev-dependency of the crates whose tests need Postgres, a dependency of `devstack`.
//!
//! [`PostgresServer::for_tests`] finds one (`DATABASE_URL`, a server on 127.0.0.1:5432, or a private
//! cluster shared by all test processes of this user); [`PostgresServer::start_private`] runs a private
//! cluster with `initdb` and `pg_ctl`; [`TempCluster`] is one for a single test, in a temporary
//! directory, killed and removed when dropped. Private clusters listen on 127.0.0.1 only and trust
//! every local connection: they are for development and tests, never for production.
//!
//! A private cluster's directory holds:
//! `pgdata/` (the cluster), `port` (its TCP port, kept across restarts), `postgres.log`,
//! `lock` (held while a process initialises or starts the cluster) and the unix socket.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::OnceCell;

mod faults;
mod system;
mod temp_cluster;

use self::system::{RunAs, current_uid, find_binaries, give_to_postgres, lock, output_text, run};
pub use self::temp_cluster::TempCluster;

/// How long a liveness probe may take to connect.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for another process that initialises or starts the same cluster.
const LOCK_TIMEOUT: Duration = Duration::from_secs(300);
const SHORT_COMMAND: Duration = Duration::from_secs(30);
const INITDB_TIMEOUT: Duration = Duration::from_secs(180);
/// `pg_ctl -t` (seconds) plus slack for our own timeout around it.
const PG_CTL_WAIT_SECS: u64 = 30;
const PG_CTL_TIMEOUT: Duration = Duration::from_secs(PG_CTL_WAIT_SECS + 30);
/// Test databases of the shared test cluster untouched for this long are dropped.
const STALE_TEST_DATABASE: &str = "1 hour";

#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin; \
         install them with: apt-get install postgresql"
    )]
    BinariesMissing,
    #[error(
        "running as root, but Postgres refuses to run as root and there is no `postgres` OS user to run \
         it as; install the server with `apt-get install postgresql` (which creates that user) or run as \
         an ordinary user"
    )]
    NoPostgresUser,
    #[error("{what}")]
    Io { what: String, source: std::io::Error },
    #[error("{what} did not finish within {limit:?}")]
    Timeout { what: String, limit: Duration },
    #[error("initdb failed: {0}")]
    Init(String),
    #[error("could not start Postgres: {0}")]
    Start(String),
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LocalPgError {
    let what = what.into();
    move |source| LocalPgError::Io { what, source }
}

/// A Postgres server this process may use: its base URL (no database name), e.g.
/// `postgres://postgres@127.0.0.1:5432`.
#[derive(Debug)]
pub struct PostgresServer {
    base: url::Url,
    /// Set when [`PostgresServer::start_private`] gave us this server: [`PostgresServer::stop`] stops it.
    cluster: Option<Cluster>,
}

#[derive(Debug)]
struct Cluster {
    dir: PathBuf,
    pg_ctl: PathBuf,
    run_as: RunAs,
}

impl PostgresServer {
    /// For tests: `DATABASE_URL` when set; else 127.0.0.1:5432 as user `postgres` if it accepts a
    /// connection; else a private cluster in the temp directory, shared by all test processes of this
    /// user, started once and left running. Resolved once per process.
    pub async fn for_tests() -> anyhow::Result<&'static PostgresServer> {
        static SERVER: OnceCell<PostgresServer> = OnceCell::const_new();
        SERVER.get_or_try_init(find_server_for_tests).await
    }

    /// Starts (or reuses, if already running) a private cluster whose data lives in `data_dir`
    /// (created if missing, initdb'd once). [`PostgresServer::stop`] stops it.
    pub async fn start_private(data_dir: &Path) -> Result<PostgresServer, LocalPgError> {
        let binaries = find_binaries()?;
        let run_as = RunAs::detect().await?;
        let dir = std::path::absolute(data_dir).map_err(io_error("cannot resolve the data directory"))?;
        std::fs::create_dir_all(&dir).map_err(io_error(format!("cannot create {}", dir.display())))?;
        let _lock = lock(&dir).await?;
        if let RunAs::Postgres { uid, .. } = &run_as {
            give_to_postgres(&dir, *uid).await?;
        }
        let cluster = Cluster { dir, pg_ctl: binaries.pg_ctl, run_as };
        if !cluster.pgdata().join("PG_VERSION").is_file() {
            cluster.initdb(&binaries.initdb).await?;
        }
        let port = cluster.ensure_running().await?;
        let base = url::Url::parse(&format!("postgres://postgres@127.0.0.1:{port}"))
            .map_err(|e| LocalPgError::Start(format!("bad server URL: {e}")))?;
        Ok(PostgresServer { base, cluster: Some(cluster) })
    }

    /// Stops a cluster started by [`PostgresServer::start_private`] (`pg_ctl stop -m fast`); a no-op
    /// for servers we did not start.
    pub async fn stop(&self) -> anyhow::Result<()> {
        let Some(cluster) = &self.cluster else { return Ok(()) };
        let _lock = lock(&cluster.dir).await?;
        if !cluster.pgdata().join("postmaster.pid").exists() {
            return Ok(());
        }
        let mut args = vec!["stop".into(), "-m".into(), "fast".into()];
        args.extend(cluster.pg_ctl_common_args());
        let output =
            run(cluster.run_as.command(&cluster.pg_ctl, &args), "pg_ctl stop", PG_CTL_TIMEOUT).await?;
        anyhow::ensure!(output.status.success(), "pg_ctl stop failed: {}", output_text(&output));
        Ok(())
    }

    /// The server's base URL, without a database name.
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// The URL of database `db` on this server.
    pub fn database_url(&self, db: &str) -> String {
        let mut url = self.base.clone();
        url.set_path(db);
        url.into()
    }

    /// Creates a fresh, empty database named `test_<uuid>` and returns its URL.
    pub async fn create_database(&self) -> anyhow::Result<String> {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = connect(&self.database_url("postgres"), Duration::from_secs(10)).await?;
        // CREATE DATABASE takes no bind parameters; the name is generated above, never user input.
        // template0 never has connections, so concurrent creations cannot collide on the template.
        let sql = format!("CREATE DATABASE {} TEMPLATE template0", quote_ident(&name));
        tokio::time::timeout(Duration::from_secs(60), conn.execute(sql.as_str()))
            .await
            .context("CREATE DATABASE timed out")?
            .with_context(|| format!("cannot create database {name} on {}", self.url()))?;
        conn.close().await.ok();
        Ok(self.database_url(&name))
    }
}

async fn find_server_for_tests() -> anyhow::Result<PostgresServer> {
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty()) {
        let mut base = url::Url::parse(&url).context("DATABASE_URL is not a URL")?;
        base.set_path("");
        return Ok(PostgresServer { base, cluster: None });
    }
    let local = url::Url::parse("postgres://postgres@127.0.0.1:5432")?;
    if connect(&format!("{local}/postgres"), PROBE_TIMEOUT).await.is_ok() {
        let server = PostgresServer { base: local, cluster: None };
        // A machine's own Postgres lives as long as the machine: without this, every run's test
        // databases stay (thousands a day, tens of GB).
        drop_stale_test_databases_logged(&server).await;
        return Ok(server);
    }
    let dir = std::env::temp_dir().join(format!("acsgw-test-postgres-{}", current_uid().await?));
    let mut server = PostgresServer::start_private(&dir).await.with_context(|| {
        format!(
            "no Postgres for tests: DATABASE_URL is unset and 127.0.0.1:5432 does not accept user \
             postgres, so a private cluster in {} was tried",
            dir.display()
        )
    })?;
    // Other test processes share this cluster: leave it running, and clean up after old runs.
    server.cluster = None;
    drop_stale_test_databases_logged(&server).await;
    Ok(server)
}

async fn drop_stale_test_databases_logged(server: &PostgresServer) {
    if let Err(e) = drop_stale_test_databases(server).await {
        tracing::warn!("could not drop stale test databases: {e:#}");
    }
}

/// Test databases accumulate in a long-lived shared server: drop those nobody uses any more, a few
/// at a time (every test process does this once, so a backlog goes quickly without delaying any
/// one test for long).
async fn drop_stale_test_databases(server: &PostgresServer) -> anyhow::Result<()> {
    let mut conn = connect(&server.database_url("postgres"), Duration::from_secs(10)).await?;
    let stale: Vec<String> = sqlx::query_scalar(
        r"SELECT datname FROM pg_database d
          WHERE datname LIKE 'test\_%'
            AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
            AND (pg_stat_file('base/' || d.oid)).modification < now() - $1::interval
          LIMIT 20",
    )
    .bind(STALE_TEST_DATABASE)
    .fetch_all(&mut conn)
    .await?;
    for name in stale {
        // Fails harmlessly if a test connected meanwhile or another process dropped it first.
        let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(&name));
        if let Err(e) = conn.execute(sql.as_str()).await {
            tracing::debug!("not dropping {name}: {e}");
        }
    }
    conn.close().await.ok();
    Ok(())
}

impl Cluster {
    fn pgdata(&self) -> PathBuf {
        self.dir.join("pgdata")
    }

    fn pg_ctl_common_args(&self) -> Vec<String> {
        let pgdata = self.pgdata().display().to_string();
        vec!["-D".into(), pgdata, "-w".into(), "-t".into(), PG_CTL_WAIT_SECS.to_string()]
    }

    /// Initialises into a scratch directory renamed into place, so an interrupted initdb never leaves
    /// a half-made cluster that looks initialised.
    async fn initdb(&self, initdb: &Path) -> Result<(), LocalPgError> {
        let scratch = self.dir.join("pgdata.initdb");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .map_err(io_error(format!("cannot remove {}", scratch.display())))?;
        }
        let mut args = vec!["-D".to_owned(), scratch.display().to_string()];
        args.extend(
            ["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"].map(String::from),
        );
        let output = run(self.run_as.command(initdb, &args), "initdb", INITDB_TIMEOUT).await?;
        if !output.status.success() {
            let hint = match self.run_as {
                RunAs::Postgres { .. } => {
                    " (it runs as the postgres OS user, which must be able to reach the directory)"
                }
                RunAs::CurrentUser => "",
            };
            return Err(LocalPgError::Init(format!("{}{hint}", output_text(&output))));
        }
        std::fs::rename(&scratch, self.pgdata()).map_err(io_error("cannot move the new cluster into place"))
    }

    /// Returns the port of the running cluster, starting it if it does not answer.
    async fn ensure_running(&self) -> Result<u16, LocalPgError> {
        let port_file = self.dir.join("port");
        let remembered = std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse::<u16>().ok());
        if let Some(port) = remembered
            && self.serves(port).await
        {
            return Ok(port);
        }
        // Keep the remembered port when it is free, so URLs stay stable across restarts.
        let mut port = match remembered.filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()) {
            Some(port) => port,
            None => free_port()?,
        };
        for attempt in 1..=3 {
            std::fs::write(&port_file, port.to_string()).map_err(io_error("cannot write the port file"))?;
            match self.pg_ctl_start(port).await {
                Ok(()) => break,
                // Someone took the port between our probe and the server's bind: try another.
                Err(LocalPgError::Start(why)) if attempt < 3 && why.contains("could not bind") => {
                    port = free_port()?;
                }
                Err(e) => return Err(e),
            }
        }
        for _ in 0..10 {
            if self.serves(port).await {
                return Ok(port);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(LocalPgError::Start(format!("started, but it does not answer on port {port}{}", self.log_tail())))
    }

    async fn pg_ctl_start(&self, port: u16) -> Result<(), LocalPgError> {
        // The socket lives in our directory (never clashing with a system server's), unless the path
        // is too long for a unix socket or needs quoting; then TCP alone will do.
        let dir = self.dir.display().to_string();
        let plain = dir.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c));
        let socket_dir = if plain && dir.len() < 90 { dir } else { String::new() };
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k '{socket_dir}' -c fsync=off -c max_connections=300"
        );
        let log = self.dir.join("postgres.log").display().to_string();
        let mut args = vec!["start".into(), "-l".into(), log, "-o".into(), options];
        args.extend(self.pg_ctl_common_args());
        let output = run(self.run_as.command(&self.pg_ctl, &args), "pg_ctl start", PG_CTL_TIMEOUT).await?;
        if output.status.success() {
            return Ok(());
        }
        Err(LocalPgError::Start(format!("pg_ctl start: {}{}", output_text(&output), self.log_tail())))
    }

    /// Whether this cluster (not some other server) answers on `port`.
    async fn serves(&self, port: u16) -> bool {
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let Ok(mut conn) = connect(&url, PROBE_TIMEOUT).await else { return false };
        let dir: Result<String, _> =
            sqlx::query_scalar("SELECT current_setting('data_directory')").fetch_one(&mut conn).await;
        conn.close().await.ok();
        let ours = std::fs::canonicalize(self.pgdata()).ok();
        dir.is_ok_and(|dir| ours.is_some() && std::fs::canonicalize(dir).ok() == ours)
    }

    fn log_tail(&self) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.dir.join("postgres.log");
        let mut tail = Vec::new();
        let read = std::fs::File::open(&path).and_then(|mut file| {
            let len = file.metadata()?.len();
            file.seek(SeekFrom::Start(len.saturating_sub(4096)))?;
            file.read_to_end(&mut tail)
        });
        match read {
            Ok(_) => format!(
                "\n--- last lines of {} ---\n{}",
                path.display(),
                String::from_utf8_lossy(&tail).trim()
            ),
            Err(_) => String::new(),
        }
    }
}

async fn connect(url: &str, limit: Duration) -> anyhow::Result<PgConnection> {
    tokio::time::timeout(limit, PgConnection::connect(url))
        .await
        .with_context(|| format!("connecting to Postgres timed out after {limit:?}"))?
        .context("cannot connect to Postgres")
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn free_port() -> Result<u16, LocalPgError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_error("cannot find a free TCP port"))?;
    Ok(listener.local_addr().map_err(io_error("cannot find a free TCP port"))?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn database_urls_replace_the_path_and_keep_the_query() {
        let mut base = url::Url::parse("postgres://u:p@db.example:5433/app?sslmode=disable").unwrap();
        base.set_path("");
        let server = PostgresServer { base, cluster: None };
        assert_eq!(server.url(), "postgres://u:p@db.example:5433?sslmode=disable");
        assert_eq!(server.database_url("test_1"), "postgres://u:p@db.example:5433/test_1?sslmode=disable");
    }
}
