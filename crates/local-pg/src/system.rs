//! What a private cluster needs from the operating system: the server binaries, the `postgres` user
//! when running as root, a lock file shared by processes, and bounded commands.

use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::Duration,
};

use tokio::process::Command;

use super::{LOCK_TIMEOUT, LocalPgError, SHORT_COMMAND, io_error};

/// Takes the cluster directory's lock, so one process at a time initialises or starts it (cargo
/// nextest runs every test in its own process). The OS releases it when the file is closed.
pub(super) async fn lock(dir: &Path) -> Result<std::fs::File, LocalPgError> {
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(format!("cannot open {}", path.display())))?;
    let deadline = tokio::time::Instant::now() + LOCK_TIMEOUT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LocalPgError::Timeout {
                    what: format!("waiting for {}", path.display()),
                    limit: LOCK_TIMEOUT,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io_error(format!("cannot lock {}", path.display()))(e));
            }
        }
    }
}

pub(super) struct Binaries {
    pub(super) initdb: PathBuf,
    pub(super) pg_ctl: PathBuf,
}

/// `initdb` and `pg_ctl` from one directory: the first on PATH that has both, else the newest
/// `/usr/lib/postgresql/<version>/bin` (where Debian installs them, off PATH).
pub(super) fn find_binaries() -> Result<Binaries, LocalPgError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut versioned: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.split('.').map(|part| part.parse().ok()).collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versioned.sort();
    std::env::split_paths(&path)
        .chain(versioned.into_iter().rev().map(|(_, bin)| bin))
        .find(|dir| is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl")))
        .map(|dir| Binaries { initdb: dir.join("initdb"), pg_ctl: dir.join("pg_ctl") })
        .ok_or(LocalPgError::BinariesMissing)
}

pub(super) fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Who runs initdb and pg_ctl: us, or, when we are root (which Postgres refuses), the `postgres` user.
#[derive(Debug)]
pub(super) enum RunAs {
    CurrentUser,
    Postgres { uid: u32, runuser: Option<PathBuf> },
}

impl RunAs {
    pub(super) async fn detect() -> Result<Self, LocalPgError> {
        if current_uid().await? != 0 {
            return Ok(Self::CurrentUser);
        }
        let uid = id(&["-u", "postgres"]).await?.ok_or(LocalPgError::NoPostgresUser)?;
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| is_executable(p));
        Ok(Self::Postgres { uid, runuser })
    }

    pub(super) fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut command = match self {
            Self::CurrentUser => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
            Self::Postgres { runuser: Some(runuser), .. } => {
                let mut command = Command::new(runuser);
                command.args(["-u", "postgres", "--"]).arg(program).args(args);
                command
            }
            Self::Postgres { runuser: None, .. } => {
                let line = std::iter::once(program.display().to_string())
                    .chain(args.iter().cloned())
                    .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut command = Command::new("su");
                command.args(["postgres", "-s", "/bin/sh", "-c", &line]);
                command
            }
        };
        // The postgres user may not be allowed into our working directory.
        command.current_dir("/");
        command
    }
}

/// Our uid, from `id -u` (reading it directly would need libc and `unsafe`).
pub(super) async fn current_uid() -> Result<u32, LocalPgError> {
    id(&["-u"]).await?.ok_or_else(|| LocalPgError::Start("cannot tell who we are: `id -u` failed".into()))
}

/// Runs `id` with `args`; `None` when it fails (for example, no such user).
pub(super) async fn id(args: &[&str]) -> Result<Option<u32>, LocalPgError> {
    let mut command = Command::new("id");
    command.args(args);
    let output = run(command, "id", SHORT_COMMAND).await?;
    Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().parse().ok()).flatten())
}

/// Root only: the postgres user must own the cluster directory and be able to reach it. Temp
/// directories above it (tempfile makes them 0700) get the search bit for everyone, nothing more.
pub(super) async fn give_to_postgres(dir: &Path, postgres_uid: u32) -> Result<(), LocalPgError> {
    let owner = std::fs::metadata(dir).map_err(io_error(format!("cannot stat {}", dir.display())))?.uid();
    if owner != postgres_uid {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres:postgres"]).arg(dir);
        let output = run(chown, "chown", SHORT_COMMAND).await?;
        if !output.status.success() {
            return Err(LocalPgError::Start(format!("chown -R postgres: {}", output_text(&output))));
        }
    }
    let temp = std::env::temp_dir();
    for parent in dir.ancestors().skip(1).take_while(|p| p.starts_with(&temp) && *p != temp) {
        let mut permissions = std::fs::metadata(parent)
            .map_err(io_error(format!("cannot stat {}", parent.display())))?
            .permissions();
        if permissions.mode() & 0o001 == 0 {
            permissions.set_mode(permissions.mode() | 0o001);
            std::fs::set_permissions(parent, permissions)
                .map_err(io_error(format!("cannot open {} to the postgres user", parent.display())))?;
        }
    }
    Ok(())
}

/// Runs a command to completion, capturing its output; killed when `limit` passes.
pub(super) async fn run(mut command: Command, what: &str, limit: Duration) -> Result<Output, LocalPgError> {
    command.stdin(Stdio::null()).kill_on_drop(true);
    match tokio::time::timeout(limit, command.output()).await {
        Ok(output) => output.map_err(io_error(format!("cannot run {what}"))),
        Err(_) => Err(LocalPgError::Timeout { what: what.into(), limit }),
    }
}

pub(super) fn output_text(output: &Output) -> String {
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    format!("{} ({})", text.trim(), output.status)
}
