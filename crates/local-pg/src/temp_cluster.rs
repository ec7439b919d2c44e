//! A private cluster owned by one test, gone when the test ends however it ends.

use super::{LocalPgError, PostgresServer, io_error};

/// A private cluster in a temporary directory of its own, for a test that stops, hangs or restarts
/// Postgres. Dropping it kills the cluster ([`PostgresServer::kill_now`], even when frozen) and removes
/// the directory, so a failed test leaves no server behind.
#[derive(Debug)]
pub struct TempCluster {
    server: PostgresServer,
    dir: tempfile::TempDir,
}

impl TempCluster {
    /// Initialises and starts a cluster in a fresh temporary directory.
    pub async fn start() -> Result<TempCluster, LocalPgError> {
        let dir = tempfile::tempdir().map_err(io_error("cannot create a temporary directory"))?;
        let server = PostgresServer::start_private(dir.path()).await?;
        Ok(TempCluster { server, dir })
    }

    /// The running cluster: its URLs, databases, [`PostgresServer::stop`], `freeze` and `thaw`.
    pub fn server(&self) -> &PostgresServer {
        &self.server
    }

    /// Starts the cluster again after [`PostgresServer::stop`], on the same port with the same data
    /// (a no-op while it runs).
    pub async fn restart(&mut self) -> Result<(), LocalPgError> {
        self.server = PostgresServer::start_private(self.dir.path()).await?;
        Ok(())
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        self.server.kill_now();
    }
}
