//! Who may use a data directory: `--smoke` gets its own, and a directory in use is refused.

use crate::stack_support::{
    devstack, fresh_database_url, remove, scratch_dir, signal_and_wait, spawn_stack, wait_for_env,
};

#[tokio::test]
async fn a_smoke_run_without_data_dir_uses_a_temporary_one_and_removes_it() {
    let url = fresh_database_url().await;
    let cwd = scratch_dir();
    let output = devstack().arg("--smoke").env("DATABASE_URL", &url).current_dir(&cwd).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(output.status.success(), "{stderr}");
    assert!(!cwd.join(".devstack").exists(), "the default data dir is left alone");
    let temporary = stderr
        .lines()
        .find_map(|line| line.split_once("temporary data dir ").map(|(_, dir)| dir.trim().to_owned()))
        .unwrap_or_else(|| panic!("the smoke run names its data dir:\n{stderr}"));
    assert!(!std::path::Path::new(&temporary).exists(), "{temporary} is removed");
    remove(&cwd);
}

#[tokio::test]
async fn a_second_stack_is_refused_a_data_dir_in_use_and_the_first_keeps_running() {
    let url = fresh_database_url().await;
    let dir = scratch_dir();
    let mut first = spawn_stack(&dir, Some(&url), &[]);
    let env = wait_for_env(&dir.join("env"), &mut first).await;

    let second =
        devstack().arg("--smoke").arg("--data-dir").arg(&dir).env("DATABASE_URL", &url).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--data-dir") && stderr.contains("in use"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");

    let ready =
        crate::stack_support::http_client().get(format!("{}/readyz", env["ACSGW_URL"])).send().await.unwrap();
    assert_eq!(ready.status(), 200, "the first stack is untouched");
    let (status, stderr) = signal_and_wait(&mut first, "INT").await;
    assert!(status.success(), "{stderr}");
    remove(&dir);
}
