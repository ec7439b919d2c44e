//! Microsoft's own Python SDK (`azure-communication-identity` 1.5.0) against the emulator: the
//! strongest evidence that the emulator speaks the real protocol, signatures included.
//!
//! Needs python3 with venv and pip, and PyPI the first time (the venv is then reused); or
//! `ACSGW_PYTHON` pointing to an interpreter that already has the SDK.
#![expect(clippy::expect_used, reason = "test helpers fail loudly")]

mod emulator_support;

use std::{path::PathBuf, process::Stdio, time::Duration};

use uuid::Uuid;

use emulator_support::{
    TestStack,
    entra::{self, Signer},
    python,
};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn the_python_sdk_exchanges_tokens_and_manages_identities_against_the_emulator() {
    let python = tokio::task::spawn_blocking(python::interpreter).await.unwrap().unwrap_or_else(|problem| {
        panic!("cannot provide a Python with {}: {problem}", python::REQUIREMENT);
    });
    let stack = TestStack::start().await;
    let (app_id, oid) = (Uuid::new_v4(), Uuid::new_v4());
    let claims = entra::a1_claims(app_id, oid);
    let a1 = stack.entra.mint(&claims, Signer::Published);
    let exp = claims["exp"].as_i64().unwrap();
    let expires_on = chrono::DateTime::from_timestamp(exp, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S.0000000+00:00")
        .to_string();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/identity_sdk.py");

    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .env("ACS_ENDPOINT", stack.emulator.endpoint())
        .env("ACS_ACCESS_KEY", stack.emulator.access_key_base64())
        .env("A1_TOKEN", &a1)
        .env("A1_APP_ID", app_id.to_string())
        .env("A1_USER_ID", oid.to_string())
        .env("A1_EXPIRES_ON", &expires_on)
        // requests honours proxy variables; the emulator is local.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .expect("the SDK script did not finish in time")
        .expect("cannot run the SDK script");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} {} exited with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        python.display(),
        script.display(),
        output.status
    );
    eprintln!("{stdout}");
    let stats = stack.emulator.stats();
    assert_eq!(stats.exchanges, 1, "{stats:?}");
    assert!(stats.hmac_authenticated >= 7, "{stats:?}");
    stack.stop().await;
}
