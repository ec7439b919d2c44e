//! Running `acs-devstack` as a child process: scratch directories, waiting for its env file, and
//! stopping it the way a terminal does.
#![allow(dead_code, reason = "each test module uses a different part of the helpers")]

use std::{
    collections::HashMap,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

/// Every key the env file holds, in the order written (the last one marks a complete file).
pub const ENV_KEYS: [&str; 9] = [
    "ACSGW_URL",
    "DEV_ENTRA_URL",
    "DEV_ACS_ENDPOINT",
    "DEV_ACS_CONNECTION_STRING",
    "DEV_ADMIN_KEY",
    "DEV_TENANT",
    "DEV_ENTRA_TENANT_ID",
    "DEV_APP_ID",
    "DEV_USER_ID",
];

pub fn devstack() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_acs-devstack"));
    command.env("NO_PROXY", "127.0.0.1,localhost").env("RUST_LOG", "warn");
    command
}

/// A directory under the system's temporary directory, removed when the test is done with it.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.path().as_os_str()
    }
}

pub fn scratch_dir() -> Scratch {
    Scratch(tempfile::Builder::new().prefix("acs-devstack-test-").tempdir().unwrap())
}

/// A fresh database on the tests' Postgres, so a stack needs no private cluster.
pub async fn fresh_database_url() -> String {
    local_pg::PostgresServer::for_tests().await.unwrap().create_database().await.unwrap()
}

/// A stack on free ports with `--env-file DIR/env`, in the background.
pub fn spawn_stack(dir: &Path, database_url: Option<&str>, extra: &[&str]) -> Child {
    let mut command = devstack();
    command
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--gateway-listen",
            "127.0.0.1:0",
            "--entra-listen",
            "127.0.0.1:0",
            "--acs-listen",
            "127.0.0.1:0",
        ])
        .arg("--env-file")
        .arg(dir.join("env"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Its own process group, like a job in a terminal, so a test can signal the whole group.
        .process_group(0);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command.env_remove("DATABASE_URL"),
    };
    command.spawn().unwrap()
}

/// The env file's values once it is complete (every key present); panics if the stack exits first
/// or takes more than a minute.
pub async fn wait_for_env(path: &Path, child: &mut Child) -> HashMap<String, String> {
    for _ in 0..600 {
        if let Some(values) = complete(path) {
            return values;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
            panic!("the stack exited ({status}) before writing its env file:\n{stderr}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stack never wrote a complete env file at {}", path.display());
}

/// The env file's values (read as `acs-loadgen` reads them) if it exists and holds every key.
pub fn complete(path: &Path) -> Option<HashMap<String, String>> {
    let values = devstack::stack::read_env_file(path).ok()?;
    ENV_KEYS.iter().all(|key| values.contains_key(*key)).then_some(values)
}

/// Sends `signal` (`INT`, `QUIT`, ...) to the child as a terminal would, then waits up to a minute
/// for it to exit; returns its status and everything it wrote to stderr.
pub async fn signal_and_wait(child: &mut Child, signal: &str) -> (ExitStatus, String) {
    let sent = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(sent.success());
    wait(child).await
}

/// Sends `signal` to the child's whole process group, as Ctrl-C in a terminal does (its running
/// `initdb` or `pg_ctl` get it too), then waits as [`signal_and_wait`] does.
pub async fn signal_group_and_wait(child: &mut Child, signal: &str) -> (ExitStatus, String) {
    let group = format!("-{}", child.id());
    let sent = Command::new("kill").arg(format!("-{signal}")).arg("--").arg(group).status().unwrap();
    assert!(sent.success());
    wait(child).await
}

pub async fn wait(child: &mut Child) -> (ExitStatus, String) {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
            return (status, stderr);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().ok();
    panic!("acs-devstack did not exit within a minute");
}

/// The private cluster's pid file: present exactly while its postmaster runs.
pub fn postmaster_pid(dir: &Path) -> PathBuf {
    dir.join("postgres/pgdata/postmaster.pid")
}

/// Asserts that no postmaster runs in the data dir's cluster: no pid file, and, where `pg_ctl` can
/// be asked (it refuses to run as root), `pg_ctl status` says so too.
pub fn assert_no_postmaster(dir: &Path, stderr: &str) {
    let pid_file = postmaster_pid(dir);
    assert!(!pid_file.exists(), "a postmaster is left running in {}:\n{stderr}", dir.display());
    let root = Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"));
    let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pg_ctl"))
        .find(|path| path.exists());
    if let (false, Some(pg_ctl)) = (root, pg_ctl) {
        let pgdata = dir.join("postgres/pgdata");
        let status = Command::new(pg_ctl).arg("status").arg("-D").arg(pgdata).output().unwrap();
        // 3 is "no server running".
        assert_eq!(
            status.status.code(),
            Some(3),
            "pg_ctl status: {}",
            String::from_utf8_lossy(&status.stdout)
        );
    }
}

/// Removes a scratch dir (the private cluster's files may belong to the postgres user; root can).
pub fn remove(dir: &Path) {
    std::fs::remove_dir_all(dir).ok();
}

/// An HTTP client for tests, with a timeout: a hung server fails the test instead of holding it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap()
}
