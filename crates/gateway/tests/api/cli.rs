//! The `acs-gateway` binary: exit codes, messages, and the commands that need no HTTP.

use std::{
    process::{Command, Output, Stdio},
    time::Duration,
};

use reqwest::StatusCode;

use crate::helpers::{KEYRING, fresh_database};

fn gateway(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_acs-gateway"));
    command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_names_every_command() {
    let output = gateway(&["--help"], &[]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "admin-key", "reseal", "--config"] {
        assert!(text.contains(command), "{command} missing from --help:\n{text}");
    }
}

#[test]
fn serve_without_the_keyring_exits_2_naming_the_variable() {
    let output = gateway(&["serve"], &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("ACSGW_SECRET_KEYS: is required"), "{}", stderr(&output));
}

#[test]
fn serve_without_a_database_url_exits_2_naming_it() {
    let output = gateway(&["serve"], &[("ACSGW_SECRET_KEYS", KEYRING)]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("DATABASE_URL: is required"), "{}", stderr(&output));
}

#[test]
fn a_malformed_setting_exits_2_naming_it_and_never_echoing_key_material() {
    let output = gateway(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://x@127.0.0.1:1/x"),
            ("ACSGW_SECRET_KEYS", "k1:c2hvcnQ="),
            ("ACSGW_LISTEN", "0.0.0.0:8080"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("ACSGW_SECRET_KEYS"), "{text}");
    assert!(!text.contains("c2hvcnQ="), "{text}");
    let output = gateway(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://x@127.0.0.1:1/x"),
            ("ACSGW_SECRET_KEYS", KEYRING),
            ("ACSGW_LISTEN", "everywhere"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("ACSGW_LISTEN"), "{}", stderr(&output));
}

#[test]
fn a_database_url_that_cannot_be_parsed_exits_2_without_echoing_it() {
    let url = "postgres://user:hunter2-secret@127.0.0.1:notaport/x";
    let output = gateway(&["serve"], &[("DATABASE_URL", url), ("ACSGW_SECRET_KEYS", KEYRING)]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("DATABASE_URL: not a usable Postgres URL"), "{text}");
    assert!(!text.contains("hunter2-secret"), "{text}");
}

#[test]
fn an_unknown_argument_exits_2() {
    assert_eq!(gateway(&["serve", "--colour"], &[]).status.code(), Some(2));
    assert_eq!(gateway(&["frobnicate"], &[]).status.code(), Some(2));
}

#[test]
fn a_config_file_with_an_unknown_key_exits_2() {
    let file = std::env::temp_dir().join(format!("acsgw-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&file, "lissen = \"127.0.0.1:1\"\n").unwrap();
    let output = gateway(&["serve", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown setting \"lissen\""), "{}", stderr(&output));
}

#[tokio::test]
async fn migrate_applies_once_and_then_reports_up_to_date() {
    let url = local_pg::PostgresServer::for_tests().await.unwrap().create_database().await.unwrap();
    let first = gateway(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("[1, 2, 3, 4, 5]"),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let second = gateway(&["migrate"], &[("DATABASE_URL", &url)]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
}

#[tokio::test]
async fn admin_key_create_prints_a_key_that_opens_the_admin_api_and_a_serve_that_stops_on_sigterm() {
    let url = fresh_database().await;
    let created = gateway(&["admin-key", "create", "--name", "ops@contoso"], &[("DATABASE_URL", &url)]);
    assert!(created.status.success(), "{}", stderr(&created));
    let key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("acsgw_") && key.len() > 40, "{key}");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT key_hash FROM admin_keys")
        .fetch_one(&sqlx::PgPool::connect(&url).await.unwrap())
        .await
        .unwrap();
    assert_ne!(stored, key.as_bytes(), "only the hash is stored");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-gateway"))
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("ACSGW_SECRET_KEYS", KEYRING)
        .env("ACSGW_LISTEN", &listen)
        .env("ACSGW_SHUTDOWN_TIMEOUT_SECONDS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = crate::helpers::http_client();
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(response) = client
            .get(format!("http://{listen}/admin/v1/tenants"))
            .bearer_auth(&key)
            .header("x-request-id", "cli-test-request-0001")
            .send()
            .await
        {
            answered = Some(response.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answered, Some(StatusCode::OK));

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = exited.expect("acs-gateway stops after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    let logs = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(logs.contains("gateway stopped"), "{logs}");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}")))
        .collect();
    let completed = lines
        .iter()
        .find(|line| line["target"] == "access" && line["path"] == "/admin/v1/tenants")
        .unwrap_or_else(|| panic!("no access line in:\n{logs}"));
    assert_eq!(completed["request_id"], "cli-test-request-0001", "{completed}");
    assert_eq!(completed["status"], 200, "{completed}");
    assert_eq!(completed["admin"], "ops@contoso", "{completed}");
    assert!(!logs.contains(&key), "the admin key is never logged");
}

#[tokio::test]
async fn the_config_file_chooses_the_log_format() {
    let url = local_pg::PostgresServer::for_tests().await.unwrap().create_database().await.unwrap();
    let file = std::env::temp_dir().join(format!("acsgw-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&file, format!("database_url = \"{url}\"\nlog_format = \"pretty\"\n")).unwrap();
    let pretty = gateway(&["migrate", "--config", file.to_str().unwrap()], &[]);
    assert!(pretty.status.success(), "{}", stderr(&pretty));
    let text = stderr(&pretty);
    assert!(text.contains("migrations") && !text.trim_start().starts_with('{'), "{text}");

    std::fs::write(&file, format!("database_url = \"{url}\"\n")).unwrap();
    let json = gateway(&["migrate", "--config", file.to_str().unwrap()], &[]);
    let text = stderr(&json);
    assert!(!text.is_empty() && text.lines().all(|l| l.starts_with('{')), "{text}");
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
async fn reseal_moves_every_secret_under_the_first_key_and_needs_the_old_one() {
    let app = crate::helpers::spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let old_key_id = |pool: sqlx::PgPool, slug: String| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT acs_credential -> 'accessKey' ->> 'keyId' FROM tenants WHERE slug = $1",
        )
        .bind(slug)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(old_key_id(app.pool.clone(), slug.clone()).await, "k1");

    let new_key = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    let without_old =
        gateway(&["reseal"], &[("DATABASE_URL", &app.database_url), ("ACSGW_SECRET_KEYS", new_key)]);
    assert_eq!(without_old.status.code(), Some(1), "{}", stderr(&without_old));
    assert_eq!(old_key_id(app.pool.clone(), slug.clone()).await, "k1", "nothing written");

    let keyring = format!("{new_key},{KEYRING}");
    let resealed =
        gateway(&["reseal"], &[("DATABASE_URL", &app.database_url), ("ACSGW_SECRET_KEYS", &keyring)]);
    assert!(resealed.status.success(), "{}", stderr(&resealed));
    assert_eq!(old_key_id(app.pool.clone(), slug).await, "k2");
}
