//! `acs-gateway admin-key create | list | revoke`: admin keys from the command line, straight on
//! Postgres (needs DATABASE_URL only). This is how the first key of an installation is made, and how
//! an installation whose owner keys are all lost or revoked gets one back.

use chrono::{DateTime, TimeDelta, Utc};
use clap::Subcommand;
use registry::{
    RegistryError,
    admin_keys::{self, AdminKey, AdminKeyName, AdminKeyScope, NewAdminKey, Role},
    audit::Actor,
    domain::TenantSlug,
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use super::Failure;
use crate::{
    settings::{DatabaseSettings, SettingsError, Source},
    startup,
};

#[derive(Debug, Subcommand)]
pub enum AdminKeyCommand {
    /// Create an admin key and print it once; only its hash is stored.
    ///
    /// Example: acs-gateway admin-key create --name fabrikam-ops --role tenant --tenant fabrikam
    /// --expires-in 90d
    Create {
        /// Who the key is for; shown as the actor in audit events ([A-Za-z0-9._@-]{1,64}).
        #[arg(long)]
        name: String,
        /// What the key may do: owner (everything, including admin keys), operator (tenants,
        /// invitations, stats, audit; no admin keys), reader (read tenants, stats, audit), or tenant
        /// (one tenant, given with --tenant: read it, its stats and audit, rotate its ACS connection,
        /// change its allowed app ids and B policy). Without --role the key is an owner key.
        #[arg(long, default_value = "owner", value_parser = parse_role)]
        role: Role,
        /// The tenant (slug) a tenant key is bound to; required with --role tenant, refused otherwise.
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        /// Let the key expire after this long: a whole number and a unit, s, m, h, d or w (e.g. 90d,
        /// 12h). Without it the key never expires.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires_in: Option<TimeDelta>,
    },
    /// List every admin key, newest first: id, name, role, tenant, created, expires, last used,
    /// revoked. Never the keys themselves.
    List,
    /// Revoke an admin key by its id (see `list`); every replica refuses it from then on.
    Revoke {
        /// The key's id.
        id: Uuid,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).map_err(|e| e.to_string())
}

/// `90d`, `12h`, `30m`, `45s`, `2w`.
fn parse_duration(value: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("{value:?} is not a duration: use a whole number and s, m, h, d or w, e.g. 90d");
    let split = value.len().checked_sub(1).filter(|&at| value.is_char_boundary(at)).ok_or_else(invalid)?;
    let (number, unit) = value.split_at(split);
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(invalid()),
    };
    number.checked_mul(seconds_per_unit).and_then(TimeDelta::try_seconds).ok_or_else(invalid)
}

fn argument(variable: &'static str, message: impl Into<String>) -> Failure {
    Failure::Config(SettingsError { variable, message: message.into() })
}

#[expect(clippy::print_stdout, reason = "commands print their result for scripts")]
pub(super) async fn execute(command: AdminKeyCommand, source: &Source) -> Result<(), Failure> {
    match command {
        AdminKeyCommand::Create { name, role, tenant, expires_in } => {
            let name = AdminKeyName::parse(&name).map_err(|e| argument("--name", e.to_string()))?;
            let tenant = tenant
                .as_deref()
                .map(TenantSlug::parse)
                .transpose()
                .map_err(|e| argument("--tenant", e.to_string()))?;
            let scope = AdminKeyScope::new(role, tenant).map_err(|e| argument("--tenant", e.to_string()))?;
            let expires_at = match expires_in {
                None => None,
                Some(delta) => {
                    Some(Utc::now().checked_add_signed(delta).ok_or(argument("--expires-in", "is too far"))?)
                }
            };
            let pool = startup::pool(&DatabaseSettings::from_source(source)?)?;
            let new = NewAdminKey { name, scope, expires_at };
            let (created, key) = match admin_keys::create_with(&pool, &new, &Actor::cli("admin-key create"))
                .await
            {
                Err(RegistryError::NotFound) => return Err(argument("--tenant", "no tenant has this slug")),
                other => other.map_err(anyhow::Error::from)?,
            };
            eprintln!(
                "admin key {:?} ({}, id {}) created; it is shown once and cannot be read back:",
                created.name,
                describe_scope(&created.scope),
                created.id
            );
            println!("{}", key.expose_secret());
        }
        AdminKeyCommand::List => {
            let pool = startup::pool(&DatabaseSettings::from_source(source)?)?;
            let keys = admin_keys::list(&pool).await.map_err(anyhow::Error::from)?;
            print!("{}", table(&keys));
        }
        AdminKeyCommand::Revoke { id } => {
            let pool = startup::pool(&DatabaseSettings::from_source(source)?)?;
            match admin_keys::revoke(&pool, id, &Actor::cli("admin-key revoke")).await {
                Err(RegistryError::NotFound) => return Err(argument("ID", "no admin key has this id")),
                other => other.map_err(anyhow::Error::from)?,
            }
            println!("admin key {id} revoked");
        }
    }
    Ok(())
}

fn describe_scope(scope: &AdminKeyScope) -> String {
    match scope.tenant() {
        Some(slug) => format!("role tenant, tenant {slug}"),
        None => format!("role {}", scope.role()),
    }
}

/// The keys as an aligned table with a header line; `-` where there is nothing.
fn table(keys: &[AdminKey]) -> String {
    let time = |at: Option<DateTime<Utc>>| {
        at.map_or_else(|| "-".to_owned(), |at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    let header =
        ["ID", "NAME", "ROLE", "TENANT", "CREATED", "EXPIRES", "LAST USED", "REVOKED"].map(str::to_owned);
    let rows: Vec<[String; 8]> = std::iter::once(header)
        .chain(keys.iter().map(|key| {
            [
                key.id.to_string(),
                key.name.clone(),
                key.scope.role().to_string(),
                key.scope.tenant().map_or_else(|| "-".to_owned(), |slug| slug.as_str().to_owned()),
                time(Some(key.created_at)),
                time(key.expires_at),
                time(key.last_used_at),
                time(key.revoked_at),
            ]
        }))
        .collect();
    let widths: Vec<usize> = (0..8).map(|c| rows.iter().map(|row| row[c].len()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> =
            row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_whole_number_and_a_unit() {
        assert_eq!(parse_duration("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_duration("12h"), Ok(TimeDelta::hours(12)));
        assert_eq!(parse_duration("2w"), Ok(TimeDelta::weeks(2)));
        for bad in ["", "d", "90", "0d", "-1d", "1.5d", "90 d", "90y", "99999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
