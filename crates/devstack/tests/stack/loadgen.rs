//! `acs-loadgen` against a running stack: it reads the env file the stack wrote, and spreads its
//! tokens over enough users that the gateway's per-user limit is not what it measures.

use std::{collections::BTreeMap, path::Path, process::Command};

use crate::stack_support::{
    fresh_database_url, remove, scratch_dir, signal_and_wait, spawn_stack, wait_for_env,
};

/// Runs `acs-loadgen` against the env file with `args`; returns the measured answers by status.
fn loadgen(env_file: &Path, args: &[&str]) -> BTreeMap<u16, usize> {
    let output = Command::new(env!("CARGO_BIN_EXE_acs-loadgen"))
        .arg("--env-file")
        .arg(env_file)
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{report}");
    let measured = stdout.split_once("measured:").expect("a measured section").1;
    let statuses = measured.lines().find_map(|line| line.trim().strip_prefix("statuses:")).expect("statuses");
    statuses
        .split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (status, count) = entry.split_once(':').unwrap();
            (status.trim().parse().unwrap(), count.trim().parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn every_exchange_of_a_run_of_misses_succeeds_and_few_users_would_hit_their_limit() {
    let url = fresh_database_url().await;
    let dir = scratch_dir();
    let mut child = spawn_stack(&dir, Some(&url), &[]);
    let env_file = dir.join("env");
    wait_for_env(&env_file, &mut child).await;

    // Every request a cache miss that reaches ACS, 200 of them: far over one user's burst of 10.
    let misses = ["--no-warmup", "--distinct-tokens", "200", "--requests", "200", "--concurrency", "8"];
    let statuses = loadgen(&env_file, &misses);
    assert_eq!(statuses, BTreeMap::from([(200, 200)]));

    // The same load from two users (fresh tokens) runs into their limit: this is what --users avoids.
    let few_users = ["--no-warmup", "--distinct-tokens", "40", "--requests", "40", "--users", "2"];
    let statuses = loadgen(&env_file, &few_users);
    assert!(statuses.get(&429).is_some_and(|&n| n >= 10), "{statuses:?}");

    let (status, stderr) = signal_and_wait(&mut child, "INT").await;
    assert!(status.success(), "{stderr}");
    remove(&dir);
}
