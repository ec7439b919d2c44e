//! `acs-gateway admin-key create | list | revoke` against a real database, checked through the
//! admin API of a gateway on the same database.

use std::process::{Command, Output};

use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

fn admin_key(args: &[&str], database_url: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_acs-gateway"));
    command.arg("admin-key").args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env("DATABASE_URL", database_url).env("ACSGW_LOG_FORMAT", "pretty").env("RUST_LOG", "warn");
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn status_with(app: &TestApp, key: &str, path: &str) -> StatusCode {
    app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap().status()
}

#[tokio::test]
async fn a_tenant_key_made_by_the_cli_is_listed_without_its_secret_and_revoked_by_its_id() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let url = app.database_url.clone();
    let created = admin_key(
        &["create", "--name", "fabrikam-ops", "--role", "tenant", "--tenant", &slug, "--expires-in", "90d"],
        &url,
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let key = stdout(&created).trim().to_owned();
    assert!(key.starts_with("acsgw_"), "{key}");
    assert!(stderr(&created).contains(&format!("role tenant, tenant {slug}")), "{}", stderr(&created));
    assert_eq!(status_with(&app, &key, &format!("/admin/v1/tenants/{slug}")).await, StatusCode::OK);
    assert_eq!(status_with(&app, &key, "/admin/v1/tenants").await, StatusCode::FORBIDDEN);

    let listed = admin_key(&["list"], &url);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let table = stdout(&listed);
    assert!(!table.contains(&key) && !table.contains(&key["acsgw_".len()..]), "{table}");
    let mut lines = table.lines();
    let header: Vec<&str> =
        lines.next().unwrap().split("  ").filter(|c| !c.is_empty()).map(str::trim).collect();
    assert_eq!(header, ["ID", "NAME", "ROLE", "TENANT", "CREATED", "EXPIRES", "LAST USED", "REVOKED"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[1..4], ["fabrikam-ops", "tenant", slug.as_str()], "{table}");
    let expires = chrono::DateTime::parse_from_rfc3339(row[5]).unwrap();
    let in_90_days = chrono::Utc::now() + chrono::TimeDelta::days(90);
    assert!((in_90_days - expires.to_utc()).num_minutes().abs() < 5, "expires {expires}");
    assert_eq!(row[7], "-", "not revoked: {table}");

    let id = row[0];
    let revoked = admin_key(&["revoke", id], &url);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(status_with(&app, &key, &format!("/admin/v1/tenants/{slug}")).await, StatusCode::UNAUTHORIZED);
    let events = app.audit_events(&slug).await;
    let actors: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .take(2)
        .collect();
    assert_eq!(
        actors,
        [("admin_key.revoked", "cli:admin-key revoke"), ("admin_key.created", "cli:admin-key create")]
    );
}

#[tokio::test]
async fn create_without_a_role_makes_an_owner_key() {
    let app = spawn_app().await;
    let created = admin_key(&["create", "--name", "first-owner"], &app.database_url);
    assert!(created.status.success(), "{}", stderr(&created));
    let key = stdout(&created).trim().to_owned();
    assert_eq!(status_with(&app, &key, "/admin/v1/admin-keys").await, StatusCode::OK);
    assert!(stderr(&created).contains("role owner"), "{}", stderr(&created));
}

#[tokio::test]
async fn bad_arguments_exit_2_naming_the_argument_and_create_nothing() {
    let app = spawn_app().await;
    let url = app.database_url.as_str();
    for (args, named) in [
        (&["create", "--name", "x", "--role", "tenant"][..], "--tenant: is required for role tenant"),
        (
            &["create", "--name", "x", "--role", "reader", "--tenant", "fabrikam"][..],
            "--tenant: is only allowed for role tenant",
        ),
        (
            &["create", "--name", "x", "--role", "tenant", "--tenant", "no-such-tenant"][..],
            "--tenant: no tenant has this slug",
        ),
        (&["create", "--name", "x", "--role", "root"][..], "must be one of owner, operator, reader, tenant"),
        (&["create", "--name", "x", "--expires-in", "soon"][..], "is not a duration"),
        (&["revoke", "not-an-id"][..], "invalid value 'not-an-id'"),
        (&["revoke", "0190b0b0-0000-7000-8000-000000000000"][..], "no admin key has this id"),
    ] {
        let output = admin_key(args, url);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(named), "{args:?}: {}", stderr(&output));
    }
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_keys").fetch_one(&app.pool).await.unwrap();
    assert_eq!(keys, 1, "only the test's own key");
}

#[test]
fn create_help_explains_roles_tenants_expiry_and_the_owner_default() {
    let output = admin_key(&["create", "--help"], "postgres://unused");
    assert!(output.status.success());
    let help = stdout(&output);
    for words in [
        "--role",
        "owner",
        "operator",
        "reader",
        "tenant",
        "--tenant",
        "--expires-in",
        "90d",
        "Without --role the key is an owner key",
    ] {
        assert!(help.contains(words), "{words:?} missing from:\n{help}");
    }
    let output = admin_key(&["--help"], "postgres://unused");
    let help = stdout(&output);
    for command in ["create", "list", "revoke"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}
