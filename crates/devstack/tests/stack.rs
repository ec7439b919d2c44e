//! The `acs-devstack` binary: a smoke run, the env file, and a clean stop on Ctrl-C.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

use std::{
    process::{Command, Stdio},
    time::Duration,
};

fn devstack() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_acs-devstack"));
    command.env("NO_PROXY", "127.0.0.1,localhost").env("RUST_LOG", "warn");
    command
}

fn scratch_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("acs-devstack-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn smoke_succeeds_on_a_fresh_database_and_writes_the_env_file() {
    let url = registry::local_pg::PostgresServer::for_tests().await.unwrap().create_database().await.unwrap();
    let dir = scratch_dir();
    let env_file = dir.join("devstack.env");
    let output = devstack()
        .args(["--smoke", "--data-dir"])
        .arg(&dir)
        .arg("--env-file")
        .arg(&env_file)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for step in
        ["gateway ready", "dev Entra issuer", "ACS emulator", "admin API and demo tenant", "A1 minted"]
    {
        assert!(stderr.contains(&format!("smoke: {step} ok")), "{step} missing:\n{stderr}");
    }
    let env = std::fs::read_to_string(&env_file).unwrap();
    for key in [
        "ACSGW_URL=http://127.0.0.1:",
        "DEV_ENTRA_URL=http://127.0.0.1:",
        "DEV_ACS_ENDPOINT=http://127.0.0.1:",
        "DEV_ACS_CONNECTION_STRING=endpoint=http://127.0.0.1:",
        "DEV_ADMIN_KEY=acsgw_",
        "DEV_TENANT=demo",
        "DEV_ENTRA_TENANT_ID=",
        "DEV_APP_ID=",
    ] {
        assert!(env.lines().any(|l| l.starts_with(key)), "{key} missing:\n{env}");
    }
    let endpoint = env.lines().find_map(|l| l.strip_prefix("DEV_ACS_ENDPOINT=")).unwrap();
    assert!(!endpoint.ends_with('/'));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test]
async fn the_stack_runs_its_own_postgres_and_ctrl_c_stops_everything() {
    let dir = scratch_dir();
    let mut child = devstack()
        .args(["--data-dir"])
        .arg(&dir)
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
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = false;
    for _ in 0..600 {
        if dir.join("env").exists() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the stack never wrote its env file");
    let env = std::fs::read_to_string(dir.join("env")).unwrap();
    let gateway = env.lines().find_map(|l| l.strip_prefix("ACSGW_URL=")).unwrap().to_owned();
    let response = reqwest::get(format!("{gateway}/readyz")).await.unwrap();
    assert_eq!(response.status(), 200);
    let pid_file = dir.join("postgres/pgdata/postmaster.pid");
    assert!(pid_file.exists(), "the private Postgres runs under the data dir");

    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let mut status = None;
    for _ in 0..300 {
        if let Some(done) = child.try_wait().unwrap() {
            status = Some(done);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = status.expect("acs-devstack exits after Ctrl-C");
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(!pid_file.exists(), "Postgres was stopped:\n{stderr}");
    assert!(reqwest::get(format!("{gateway}/healthz")).await.is_err(), "the gateway is gone");
}
