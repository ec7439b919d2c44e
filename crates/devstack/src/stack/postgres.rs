//! The stack's database: `DATABASE_URL` when set, else a private cluster under the data directory
//! (the same helper the tests use), with a database named `acsgw`.

use std::path::Path;

use anyhow::Context;
use registry::local_pg::PostgresServer;
use sqlx::{Connection, PgConnection};

pub struct Database {
    url: String,
    private: Option<PostgresServer>,
}

impl Database {
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Ok(Self { url, private: None });
        }
        let server = PostgresServer::start_private(&data_dir.join("postgres")).await?;
        let url = server.database_url("acsgw");
        create_if_missing(&server).await?;
        Ok(Self { url, private: Some(server) })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the private cluster, if we started one.
    pub async fn stop(&self) -> anyhow::Result<()> {
        match &self.private {
            Some(server) => server.stop().await,
            None => Ok(()),
        }
    }
}

async fn create_if_missing(server: &PostgresServer) -> anyhow::Result<()> {
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
    Ok(())
}
