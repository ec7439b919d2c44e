//! The demo: an admin key, a demo tenant pointing at the emulator, and the lines to paste.

use std::{collections::HashMap, io::Write, os::unix::fs::OpenOptionsExt, path::Path, sync::Arc};

use anyhow::Context;
use registry::{
    admin_keys::{self, AdminKeyName},
    audit::Actor,
    domain::{
        AppId, Authority, AuthorizationPolicy, ConnectionString, DisplayName, EntraSettings, EntraTenantId,
        Limits, NewAcsConnection, NewAcsCredential, NewTenant, TenantSlug, TenantStatus, Transport,
    },
    sealing::Keyring,
    tenants::TenantStore,
};
use secrecy::ExposeSecret;
use sqlx::PgPool;

pub const SLUG: &str = "demo";
/// Fixed, so the printed curl lines stay the same from run to run.
pub const ENTRA_TENANT_ID: &str = "d3e0d3e0-0000-4000-8000-000000000001";
pub const APP_ID: &str = "d3e0d3e0-0000-4000-8000-0000000000a1";
pub const USER_ID: &str = "d3e0d3e0-0000-4000-8000-00000000ace1";

pub struct Urls {
    pub gateway: String,
    pub entra: String,
    pub acs: String,
}

pub struct Demo {
    pub admin_key: String,
}

pub async fn prepare(
    database_url: &str,
    keyring: Arc<Keyring>,
    connection_string: &str,
) -> anyhow::Result<Demo> {
    let pool = PgPool::connect(database_url).await.context("cannot connect to the stack's database")?;
    let actor = Actor::cli("acs-devstack");
    let key = admin_keys::create(&pool, &AdminKeyName::parse("devstack")?, &actor).await?;
    let store = TenantStore::new(pool.clone(), keyring, Default::default());
    let slug = TenantSlug::parse(SLUG)?;
    let acs = || -> anyhow::Result<NewAcsConnection> {
        let parsed = ConnectionString::parse(connection_string, Transport::AllowInsecureHttp)?;
        Ok(NewAcsConnection {
            endpoint: parsed.endpoint,
            credential: NewAcsCredential::AccessKey(parsed.access_key),
        })
    };
    // The emulator's port may differ from the last run: point the demo tenant at this one.
    if store.get(&slug).await?.is_some() {
        store.replace_acs(&slug, None, acs()?, &actor).await?;
    } else {
        let new = NewTenant {
            slug,
            display_name: DisplayName::parse("Demo tenant (devstack)")?,
            status: TenantStatus::Active,
            entra: EntraSettings::new(
                Authority::Tenant(EntraTenantId::parse(ENTRA_TENANT_ID)?),
                vec![AppId::parse(APP_ID)?],
            )?,
            acs: acs()?,
            authorization: AuthorizationPolicy::None,
            limits: Limits::default(),
        };
        store.create(new, &actor).await?;
    }
    pool.close().await;
    Ok(Demo { admin_key: key.expose_secret().to_owned() })
}

/// Writes the env file: `KEY='value'` lines, which bash can `source` (the connection string holds a
/// `;`) and Docker Compose's `env_file` reads the same way (it strips the single quotes). The file
/// is written under a temporary name in the same directory, then renamed over `path`, so a reader
/// polling for it never sees half a file, and it is private (0600) even if an older file was not.
/// `gateway_env` (the settings a separately started gateway needs) follows the stack's own lines.
pub fn write_env_file(
    path: &Path,
    urls: &Urls,
    demo: &Demo,
    connection_string: &str,
    gateway_env: &[(&str, String)],
) -> anyhow::Result<()> {
    let stack = [
        ("ACSGW_URL", urls.gateway.as_str()),
        ("DEV_ENTRA_URL", urls.entra.as_str()),
        ("DEV_ACS_ENDPOINT", urls.acs.trim_end_matches('/')),
        ("DEV_ACS_CONNECTION_STRING", connection_string),
        ("DEV_ADMIN_KEY", demo.admin_key.as_str()),
        ("DEV_TENANT", SLUG),
        ("DEV_ENTRA_TENANT_ID", ENTRA_TENANT_ID),
        ("DEV_APP_ID", APP_ID),
        ("DEV_USER_ID", USER_ID),
    ];
    let gateway = gateway_env.iter().map(|(key, value)| (*key, value.as_str()));
    let lines: Vec<(&str, &str)> = stack.into_iter().chain(gateway).collect();
    write_atomically(path, env_file_text(&lines)?.as_bytes())
        .with_context(|| format!("cannot write --env-file {}", path.display()))
}

/// `KEY='value'` lines. Single quotes keep everything literal in a shell; no value here can hold
/// one (URLs, base64, GUIDs, `acsgw_` keys), and a value that did would break the quoting, so it is
/// refused rather than escaped into something Compose would read differently.
fn env_file_text(lines: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut text = String::new();
    for (key, value) in lines {
        anyhow::ensure!(!value.contains(['\'', '\n']), "the value of {key} contains a quote or a newline");
        text.push_str(&format!("{key}='{value}'\n"));
    }
    Ok(text)
}

/// Reads what [`write_env_file`] wrote: `KEY='value'` lines, the quotes stripped. Blank lines and `#`
/// comments are skipped; any other line must have that shape (a value holds no quote, as written).
pub fn read_env_file(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_env_file(&text)
        .with_context(|| format!("{} is not an env file written by acs-devstack", path.display()))
}

fn parse_env_file(text: &str) -> anyhow::Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let value = line
            .split_once('=')
            .filter(|(key, _)| !key.is_empty() && !key.contains(char::is_whitespace))
            .and_then(|(key, quoted)| {
                let value = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
                (!value.contains('\'')).then_some((key, value))
            });
        let Some((key, value)) = value else {
            anyhow::bail!("line {} is not KEY='value'", number + 1);
        };
        values.insert(key.to_owned(), value.to_owned());
    }
    Ok(values)
}

fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().context("the path names no file")?.to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        // It holds an admin key: readable by its owner only.
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        std::fs::remove_file(&temporary).ok();
    }
    Ok(written?)
}

pub fn print_banner(urls: &Urls, demo: &Demo) {
    let Urls { gateway, entra, acs } = urls;
    let key = &demo.admin_key;
    eprintln!(
        r#"
ACS Teams Token Gateway devstack is up (Ctrl-C stops everything).

  gateway          {gateway}
  dev Entra issuer {entra}
  ACS emulator     {acs}
  admin key        {key}
  demo tenant      {SLUG} (Entra tenant {ENTRA_TENANT_ID}, app {APP_ID}, authorization: none)

# The demo tenant, through the admin API
curl -s {gateway}/admin/v1/tenants/{SLUG} -H 'Authorization: Bearer {key}'

# 1. Mint a Teams user's Entra token for ACS (A1) at the dev issuer
A1=$(curl -s -X POST {entra}/dev/tokens -H 'Content-Type: application/json' \
  -d '{{"tenantId":"{ENTRA_TENANT_ID}","oid":"{USER_ID}","appId":"{APP_ID}"}}' | sed -E 's/.*"token":"([^"]+)".*/\1/')

# 2. Exchange it for an ACS token (D) through the gateway
curl -s -X POST {gateway}/v1/tenants/{SLUG}/token/teams -H 'Content-Type: application/json' \
  -d "{{\"token\":\"$A1\",\"appId\":\"{APP_ID}\",\"userId\":\"{USER_ID}\"}}"

# Make the emulator misbehave (latency, 5xx share, 429 share, resets), and see what it served
curl -s -X POST {acs}/dev/faults -H 'Content-Type: application/json' -d '{{"throttleRate":0.5,"retryAfterSeconds":2}}'
curl -s {acs}/dev/stats
"#
    );
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn scratch() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("acs-devstack-demo-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path) {
        let urls = Urls {
            gateway: "http://127.0.0.1:8080".into(),
            entra: "http://127.0.0.1:8090".into(),
            acs: "http://127.0.0.1:8091/".into(),
        };
        let demo = Demo { admin_key: "acsgw_secret".into() };
        write_env_file(path, &urls, &demo, "endpoint=http://127.0.0.1:8091/;accesskey=AAEC+/==", &[])
            .unwrap();
    }

    #[test]
    fn the_env_file_can_be_sourced_by_bash_and_keeps_the_connection_string_whole() {
        let dir = scratch();
        let path = dir.join("env");
        write(&path);
        let output = std::process::Command::new("bash")
            .arg("-c")
            .arg(r#"set -eu; source "$1"; printf '%s|%s|%s' "$DEV_ACS_CONNECTION_STRING" "$DEV_ACS_ENDPOINT" "$DEV_TENANT""#)
            .arg("bash")
            .arg(&path)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "endpoint=http://127.0.0.1:8091/;accesskey=AAEC+/==|http://127.0.0.1:8091|demo"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_env_file_replaces_an_older_one_whole_and_is_private() {
        let dir = scratch();
        let path = dir.join("env");
        std::fs::write(&path, "OLD=1\n".repeat(1000)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("ACSGW_URL='http://127.0.0.1:8080'\n") && !text.contains("OLD"), "{text}");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["env"], "no temporary file is left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reading_the_env_file_gives_back_what_was_written() {
        let dir = scratch();
        let path = dir.join("env");
        write(&path);
        let values = read_env_file(&path).unwrap();
        let expected = [
            ("ACSGW_URL", "http://127.0.0.1:8080"),
            ("DEV_ENTRA_URL", "http://127.0.0.1:8090"),
            ("DEV_ACS_ENDPOINT", "http://127.0.0.1:8091"),
            ("DEV_ACS_CONNECTION_STRING", "endpoint=http://127.0.0.1:8091/;accesskey=AAEC+/=="),
            ("DEV_ADMIN_KEY", "acsgw_secret"),
            ("DEV_TENANT", SLUG),
            ("DEV_ENTRA_TENANT_ID", ENTRA_TENANT_ID),
            ("DEV_APP_ID", APP_ID),
            ("DEV_USER_ID", USER_ID),
        ];
        let expected: HashMap<String, String> =
            expected.into_iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect();
        assert_eq!(values, expected);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reading_skips_blank_lines_and_comments_and_refuses_other_shapes() {
        let text = "# written by hand\n\nA='b=c;d'\n  # indented comment\nE=''\n";
        let values = parse_env_file(text).unwrap();
        assert_eq!(values.len(), 2);
        assert_eq!((values["A"].as_str(), values["E"].as_str()), ("b=c;d", ""));
        for bad in ["A=b\n", "A='b\n", "A='b'c'\n", "='b'\n", "no equals sign\n"] {
            let error = parse_env_file(bad).unwrap_err();
            assert_eq!(error.to_string(), "line 1 is not KEY='value'", "{bad:?}");
        }
    }

    #[test]
    fn a_value_with_a_single_quote_is_refused() {
        assert!(env_file_text(&[("A", "it's")]).is_err());
        assert_eq!(env_file_text(&[("A", "b;c")]).unwrap(), "A='b;c'\n");
    }
}
