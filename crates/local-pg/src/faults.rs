//! For fault tests: a private cluster hung as a stalled server or a frozen VM would be (every process
//! stopped with SIGSTOP: connections stay open, nothing answers) and resumed.

use anyhow::Context;

use super::{PostgresServer, SHORT_COMMAND, output_text, run};

impl PostgresServer {
    /// Stops every process of the cluster: the postmaster first, then the children it has once it
    /// can start no more (a backend forked meanwhile would otherwise keep answering).
    /// Returns once every one of them is seen stopped (a signal sent is not yet a process stopped).
    pub async fn freeze(&self) -> anyhow::Result<()> {
        let pids = self.process_ids()?;
        signal("-STOP", &pids[..1]).await?;
        wait_stopped(&pids[..1]).await?;
        let pids = self.process_ids()?;
        signal("-STOP", &pids[1..]).await?;
        wait_stopped(&pids[1..]).await
    }

    /// Lets a frozen cluster run again (its children first, then the postmaster).
    pub async fn thaw(&self) -> anyhow::Result<()> {
        let mut pids = self.process_ids()?;
        pids.reverse();
        signal("-CONT", &pids).await
    }

    /// The postmaster's pid, then those of its children.
    fn process_ids(&self) -> anyhow::Result<Vec<String>> {
        let cluster = self.cluster.as_ref().context("only a private cluster can be frozen")?;
        let pid_file = cluster.pgdata().join("postmaster.pid");
        let text = std::fs::read_to_string(&pid_file)
            .with_context(|| format!("cannot read {}", pid_file.display()))?;
        let postmaster = text.lines().next().context("empty postmaster.pid")?.trim().to_owned();
        let mut pids = vec![postmaster.clone()];
        for entry in std::fs::read_dir("/proc").context("cannot list /proc")?.flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing paren.
            let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if ppid == Some(postmaster.as_str()) {
                pids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(pids)
    }
}

/// Polls `/proc/<pid>/stat` until each process is in state `T` (stopped) or gone.
async fn wait_stopped(pids: &[String]) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + SHORT_COMMAND;
    for pid in pids {
        while let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
            if matches!(state, Some("T" | "t" | "Z" | "X")) {
                break;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "process {pid} did not stop");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

async fn signal(signal: &str, pids: &[String]) -> anyhow::Result<()> {
    if pids.is_empty() {
        return Ok(());
    }
    let mut command = tokio::process::Command::new("kill");
    command.arg(signal).args(pids);
    let output = run(command, "kill", SHORT_COMMAND).await?;
    anyhow::ensure!(output.status.success(), "kill {signal} failed: {}", output_text(&output));
    Ok(())
}

impl PostgresServer {
    /// Stops a private cluster at once, frozen or not, without waiting (for a test's `Drop`, so a
    /// failed test leaves no server behind). A no-op for servers we did not start.
    pub fn kill_now(&self) {
        let Ok(pids) = self.process_ids() else { return };
        let _ = std::process::Command::new("kill").arg("-CONT").args(&pids).output();
        // SIGQUIT to the postmaster: immediate shutdown of the whole cluster.
        let _ = std::process::Command::new("kill").arg("-QUIT").arg(&pids[0]).output();
    }
}
