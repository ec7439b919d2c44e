//! A smoke run, the env file, and a clean stop on every way out: Ctrl-C once up, Ctrl-C while
//! starting, a step that fails after Postgres started, and a gateway that stops by itself.

use std::{os::unix::fs::PermissionsExt as _, process::Command};

use crate::stack_support::{
    ENV_KEYS, assert_no_postmaster, devstack, fresh_database_url, postmaster_pid, remove, scratch_dir,
    signal_and_wait, signal_group_and_wait, spawn_stack, wait, wait_for_env,
};

#[tokio::test]
async fn smoke_succeeds_on_a_fresh_database_and_writes_the_env_file() {
    let url = fresh_database_url().await;
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
    let env = crate::stack_support::complete(&env_file).unwrap();
    for (key, prefix) in [
        ("ACSGW_URL", "http://127.0.0.1:"),
        ("DEV_ENTRA_URL", "http://127.0.0.1:"),
        ("DEV_ACS_ENDPOINT", "http://127.0.0.1:"),
        ("DEV_ACS_CONNECTION_STRING", "endpoint=http://127.0.0.1:"),
        ("DEV_ADMIN_KEY", "acsgw_"),
        ("DEV_TENANT", "demo"),
    ] {
        assert!(env[key].starts_with(prefix), "{key}={}", env[key]);
    }
    assert!(!env["DEV_ACS_ENDPOINT"].ends_with('/'));
    assert_eq!(std::fs::metadata(&env_file).unwrap().permissions().mode() & 0o777, 0o600);

    // What `.ci/api-checks` does with it: `source` it in bash, `;` in the connection string and all.
    let script = ENV_KEYS.map(|key| format!("printf '%s\\n' \"${key}\";")).concat();
    let sourced = Command::new("bash")
        .arg("-c")
        .arg(format!("set -eu; source \"$1\"; {script}"))
        .arg("bash")
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(sourced.status.success(), "{}", String::from_utf8_lossy(&sourced.stderr));
    let sourced = String::from_utf8(sourced.stdout).unwrap();
    assert_eq!(sourced.lines().collect::<Vec<_>>(), ENV_KEYS.map(|key| env[key].as_str()));
    remove(&dir);
}

#[tokio::test]
async fn the_stack_runs_its_own_postgres_and_ctrl_c_stops_everything() {
    let dir = scratch_dir();
    let mut child = spawn_stack(&dir, None, &[]);
    let env = wait_for_env(&dir.join("env"), &mut child).await;
    let gateway = env["ACSGW_URL"].clone();
    let response = crate::stack_support::http_client().get(format!("{gateway}/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(postmaster_pid(&dir).exists(), "the private Postgres runs under the data dir");

    let (status, stderr) = signal_and_wait(&mut child, "INT").await;
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_no_postmaster(&dir, &stderr);
    assert!(
        crate::stack_support::http_client().get(format!("{gateway}/healthz")).send().await.is_err(),
        "the gateway is gone"
    );
    remove(&dir);
}

#[tokio::test]
async fn a_busy_gateway_port_fails_the_run_naming_the_address_and_stops_the_private_postgres() {
    let dir = scratch_dir();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let mut child = devstack()
        .arg("--data-dir")
        .arg(&dir)
        .args(["--gateway-listen", &address, "--entra-listen", "127.0.0.1:0", "--acs-listen", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = wait(&mut child).await;

    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&address), "the message names {address}:\n{stderr}");
    assert!(dir.join("postgres/pgdata/PG_VERSION").exists(), "Postgres was started first:\n{stderr}");
    assert_no_postmaster(&dir, &stderr);
    drop(busy);
    remove(&dir);
}

#[tokio::test]
async fn ctrl_c_while_the_stack_starts_stops_the_private_postgres() {
    let dir = scratch_dir();
    let mut child = spawn_stack(&dir, None, &[]);
    // Interrupt as soon as the postmaster exists, before the stack is up, the way a terminal does:
    // the whole process group, `pg_ctl` included, gets the signal.
    let mut started = false;
    for _ in 0..1200 {
        if postmaster_pid(&dir).exists() {
            started = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(started, "the private Postgres never started");

    let (status, stderr) = signal_group_and_wait(&mut child, "INT").await;
    assert!(status.code().is_some(), "acs-devstack handled the signal instead of dying of it: {status:?}");
    assert_no_postmaster(&dir, &stderr);
    remove(&dir);
}

#[tokio::test]
async fn a_gateway_that_stops_by_itself_fails_the_run() {
    let url = fresh_database_url().await;
    let dir = scratch_dir();
    let mut child = spawn_stack(&dir, Some(&url), &[]);
    wait_for_env(&dir.join("env"), &mut child).await;

    // SIGQUIT stops the gateway's own server (actix's forced shutdown), and nothing else.
    let (status, stderr) = signal_and_wait(&mut child, "QUIT").await;
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the gateway stopped unexpectedly"), "{stderr}");
    remove(&dir);
}
