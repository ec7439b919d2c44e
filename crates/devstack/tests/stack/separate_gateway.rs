//! `--no-gateway`: the stand-ins without the gateway, and an env file from which a gateway started
//! apart joins them (as `bench/run.sh` does, on a core of its own); `acs-loadgen`'s scenarios
//! against that gateway.

use std::{collections::HashMap, path::Path};

use gateway::{
    Application,
    settings::{Settings, Source},
};

use crate::stack_support::{
    devstack, fresh_database_url, http_client, remove, scratch_dir, signal_and_wait, spawn_stack,
    wait_for_env,
};

/// One Markdown row of `acs-loadgen --markdown`: its cells, trimmed.
type Row = Vec<String>;

/// Runs `acs-loadgen --markdown` against the env file with `args`; returns its table rows.
async fn loadgen(env_file: &Path, args: &[&str]) -> Vec<Row> {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_acs-loadgen"))
        .arg("--env-file")
        .arg(env_file)
        .arg("--markdown")
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{report}");
    stdout
        .lines()
        .filter(|line| line.starts_with("| "))
        .map(|line| line.trim_matches('|').split('|').map(|cell| cell.trim().to_owned()).collect())
        .collect()
}

/// The label and the answers column of each row.
fn answers(rows: &[Row]) -> Vec<(&str, &str)> {
    rows.iter().map(|row| (row[0].as_str(), row[7].as_str())).collect()
}

/// `answers` holds a single status, e.g. `401: 355`: that status.
fn only_status(answers: &str) -> &str {
    assert!(!answers.contains(','), "more than one status: {answers}");
    answers.split(':').next().unwrap()
}

/// The gateway, built from the env file's values alone, as `acs-gateway serve` would be.
async fn gateway_from(env: &HashMap<String, String>) -> (actix_web::dev::ServerHandle, u16) {
    let source = Source::from_env_fn(|name| env.get(name).cloned()).unwrap();
    let app = Application::build(Settings::from_source(&source).unwrap()).await.unwrap();
    let (handle, port) = (app.handle(), app.port());
    tokio::spawn(app.run_until_stopped());
    (handle, port)
}

#[tokio::test]
async fn a_gateway_started_apart_from_the_env_file_serves_every_exchange_scenario() {
    let url = fresh_database_url().await;
    let dir = scratch_dir();
    let mut child = spawn_stack(&dir, Some(&url), &["--no-gateway"]);
    let env_file = dir.join("env");
    let env = wait_for_env(&env_file, &mut child).await;

    // The env file says where the gateway is to listen and how it reaches the stand-ins; until it
    // is started, nothing answers there.
    assert_eq!(env["DATABASE_URL"], url);
    assert_eq!(env["ACSGW_ALLOW_INSECURE_HTTP"], "true");
    assert_eq!(env["ACSGW_ENTRA_AUTHORITY_HOST"], env["DEV_ENTRA_URL"]);
    assert!(!env["ACSGW_SECRET_KEYS"].is_empty());
    let port: u16 = env["ACSGW_LISTEN"].rsplit_once(':').unwrap().1.parse().unwrap();
    assert_ne!(port, 0);
    assert_eq!(env["ACSGW_URL"], format!("http://127.0.0.1:{port}"));
    assert!(http_client().get(format!("{}/readyz", env["ACSGW_URL"])).send().await.is_err());

    // The stack applied the schema and made the admin key and the demo tenant: the gateway needs
    // nothing more than those values.
    let (gateway, gateway_port) = gateway_from(&env).await;
    assert_eq!(gateway_port, port);

    let few = ["--distinct-tokens", "12", "--concurrency", "4", "--duration", "1"];
    let misses = loadgen(&env_file, &[&["--scenario", "miss"], &few[..]].concat()).await;
    assert_eq!(answers(&misses), [("miss", "200: 12")]);
    let hero = loadgen(&env_file, &[&["--scenario", "hero-get"], &few[..]].concat()).await;
    assert_eq!(answers(&hero), [("hero-get", "201: 12")], "the hero route answers 201 Created");
    let hits = loadgen(&env_file, &[&["--scenario", "hit"], &few[..]].concat()).await;
    assert_eq!(only_status(answers(&hits)[0].1), "200");
    for refused in ["forged-a1", "forged-b", "expired-a1"] {
        let rows = loadgen(&env_file, &[&["--scenario", refused], &few[..]].concat()).await;
        assert_eq!(answers(&rows)[0].0, refused);
        assert_eq!(only_status(answers(&rows)[0].1), "401", "{refused}");
    }

    let tenants = ["--scenario", "many-tenants", "--tenants", "3", "--concurrency", "2", "--duration", "1"];
    let rows = loadgen(&env_file, &tenants).await;
    let labels: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(labels, ["many-tenants N=3: cold first pass", "many-tenants N=3: spread over all"]);
    assert_eq!(rows[0][7], "200: 3", "one exchange per tenant, each its own Entra tenant");
    assert_eq!(only_status(&rows[1][7]), "200");
    let notes = &rows[1][8];
    assert!(notes.starts_with("3 tenants (3 created, 0 there before"), "{notes}");
    assert!(notes.contains("Postgres transactions per exchange 0."), "read from DATABASE_URL: {notes}");

    // Misses without, then with, PATCHes of the demo tenant and of one loadgen tenant (one already
    // there), each tenant one PATCH at a time: all of them written, none refused for a race.
    let writes = ["--scenario", "admin-writes", "--patch-tenants", "2", "--patches-per-second", "50"];
    let rows = loadgen(&env_file, &[&writes[..], &few[..]].concat()).await;
    let expected = [
        ("admin-writes: misses without PATCHes", "200: 12"),
        ("admin-writes: misses with 50 PATCHes/s", "200: 12"),
    ];
    assert_eq!(answers(&rows), expected);
    let notes = &rows[1][8];
    assert!(notes.contains("over 2 tenant(s)"), "{notes}");
    let patch_answers = notes.split_once("answers ").unwrap().1.split(')').next().unwrap();
    assert!(patch_answers.is_empty() || only_status(patch_answers) == "200", "{notes}");

    // The floor's round trip is an exchange the emulator accepts: A1 and the HMAC signature hold.
    let rows = loadgen(&env_file, &["--scenario", "floor", "--duration", "1"]).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], "floor");
    assert!(rows[0][8].contains("µs per exchange"), "{:?}", rows[0]);

    gateway.stop(true).await;
    let (status, stderr) = signal_and_wait(&mut child, "INT").await;
    assert!(status.success(), "{stderr}");
    remove(&dir);
}

#[tokio::test]
async fn no_gateway_needs_an_env_file_and_cannot_be_a_smoke_run() {
    let cwd = scratch_dir();
    for args in [&["--no-gateway"][..], &["--no-gateway", "--smoke", "--env-file", "env"]] {
        let output = devstack().args(args).current_dir(&cwd).env_remove("DATABASE_URL").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--no-gateway"), "{args:?}: {stderr}");
    }
    assert!(std::fs::read_dir(&cwd).unwrap().next().is_none(), "nothing was started or created");
    remove(&cwd);
}
