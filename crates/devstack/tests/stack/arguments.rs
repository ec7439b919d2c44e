//! Flags: fault settings are checked by the emulator's rules before anything starts, and applied.

use crate::stack_support::{
    devstack, fresh_database_url, remove, scratch_dir, signal_and_wait, spawn_stack, wait_for_env,
};

#[tokio::test]
async fn fault_rates_outside_zero_to_one_exit_with_2_naming_the_flag() {
    let cwd = scratch_dir();
    let cases: [(&[&str], &str); 4] = [
        (&["--acs-error-rate", "1.5"], "--acs-error-rate"),
        (&["--acs-reset-rate", "NaN"], "--acs-reset-rate"),
        (&["--acs-throttle-rate=-0.5"], "--acs-throttle-rate"),
        (
            &["emulator", "--entra-url", "http://127.0.0.1:1", "--acs-throttle-rate", "2"],
            "--acs-throttle-rate",
        ),
    ];
    for (args, flag) in cases {
        let output = devstack().args(args).current_dir(&cwd).env_remove("DATABASE_URL").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag) && stderr.contains("between 0 and 1"), "{args:?}: {stderr}");
    }
    assert!(std::fs::read_dir(&cwd).unwrap().next().is_none(), "nothing was started or created");
    remove(&cwd);
}

#[tokio::test]
async fn a_throttle_rate_of_one_makes_the_emulator_answer_429() {
    let url = fresh_database_url().await;
    let dir = scratch_dir();
    let mut child =
        spawn_stack(&dir, Some(&url), &["--acs-throttle-rate", "1", "--acs-retry-after-seconds", "7"]);
    let env = wait_for_env(&dir.join("env"), &mut child).await;

    let response = crate::stack_support::http_client()
        .post(format!("{}/identities?api-version=2023-10-01", env["DEV_ACS_ENDPOINT"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests", "{body}");

    let (status, stderr) = signal_and_wait(&mut child, "INT").await;
    assert!(status.success(), "{stderr}");
    remove(&dir);
}
