//! The stack's database: `DATABASE_URL` when set, else a private cluster under the data directory
//! (the same helper the tests use), with a database named `acsgw`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use local_pg::PostgresServer;
use sqlx::{Connection, PgConnection};

pub struct Database {
    url: String,
    private: Option<PostgresServer>,
    /// Whether this process started the private cluster (it may have found it running).
    started_here: bool,
    cluster_dir: PathBuf,
}

impl Database {
    pub async fn start(data_dir: PathBuf) -> anyhow::Result<Self> {
        let cluster_dir = data_dir.join("postgres");
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Ok(Self { url, private: None, started_here: false, cluster_dir });
        }
        let before = postmaster_pid(&cluster_dir);
        let server = match PostgresServer::start_private(&cluster_dir).await {
            Ok(server) => server,
            Err(error) => {
                stop_orphan(&cluster_dir, before.as_deref()).await;
                return Err(error.into());
            }
        };
        // A postmaster that was already running keeps its pid file; one we started writes a new pid.
        let started_here = before.is_none() || postmaster_pid(&cluster_dir) != before;
        let database =
            Self { url: server.database_url("acsgw"), private: Some(server), started_here, cluster_dir };
        if let Err(error) = create_if_missing(database.private.as_ref()).await {
            if let Err(stop) = database.stop().await {
                eprintln!("acs-devstack: {stop:#}");
            }
            return Err(error);
        }
        Ok(database)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the private cluster if this process started it; one it found running stays running.
    pub async fn stop(&self) -> anyhow::Result<()> {
        match &self.private {
            Some(server) if self.started_here => server.stop().await,
            Some(_) => {
                eprintln!(
                    "acs-devstack: leaving the Postgres in {} running: it was running before this run",
                    self.cluster_dir.display()
                );
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// After a failed start: if a postmaster started anyway (Ctrl-C in a terminal reaches `pg_ctl`, which
/// dies while the server it launched in its own session keeps starting), take it over and stop it.
async fn stop_orphan(cluster_dir: &Path, before: Option<&str>) {
    let after = postmaster_pid(cluster_dir);
    if after.is_none() || after.as_deref() == before {
        return;
    }
    let port = std::fs::read_to_string(cluster_dir.join("port")).unwrap_or_default();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", port.trim());
    for _ in 0..40 {
        if postmaster_pid(cluster_dir).is_none() {
            return; // It went away by itself.
        }
        if let Ok(conn) = PgConnection::connect(&url).await {
            conn.close().await.ok();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // A running cluster is reused, not started again: this only finds it, so it can be stopped.
    let stopped = match PostgresServer::start_private(cluster_dir).await {
        Ok(server) => server.stop().await,
        Err(error) => Err(error.into()),
    };
    if let Err(error) = stopped {
        eprintln!("acs-devstack: a Postgres may still be running in {}: {error:#}", cluster_dir.display());
    }
}

/// The pid a postmaster wrote into the cluster's `postmaster.pid` (first line), if the file is there.
fn postmaster_pid(cluster_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(cluster_dir.join("pgdata/postmaster.pid")).ok()?;
    text.lines().next().map(str::to_owned)
}

async fn create_if_missing(server: Option<&PostgresServer>) -> anyhow::Result<()> {
    let Some(server) = server else { return Ok(()) };
    let mut conn = PgConnection::connect(&server.database_url("postgres"))
        .await
        .context("cannot connect to the private Postgres")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'acsgw')")
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        sqlx::query("CREATE DATABASE acsgw").execute(&mut conn).await?;
    }
    conn.close().await.ok();
    Ok(())
}
