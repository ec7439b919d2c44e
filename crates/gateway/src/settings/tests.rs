//! The settings: defaults, sources, validation of each variable.

use super::*;

const KEYS: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let pairs: BTreeMap<String, String> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Settings::from_source(&Source::from_env_fn(|name| pairs.get(name).cloned())?)
}

#[test]
fn defaults_fill_everything_but_the_database_and_the_keyring() {
    let s = settings(&[("DATABASE_URL", "postgres://localhost/x"), ("ACSGW_SECRET_KEYS", KEYS)]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.acs_api_version, "2023-10-01");
    assert!(!s.allow_insecure_http);
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.entra_authority_host.as_str(), "https://login.microsoftonline.com/");
}

#[test]
fn caches_default_to_a_long_ttl_and_budgets_in_mib_and_refuse_an_empty_budget() {
    let base = [("DATABASE_URL", "postgres://localhost/x"), ("ACSGW_SECRET_KEYS", KEYS)];
    let s = settings(&base).unwrap();
    assert_eq!(s.tenant_cache_ttl, Duration::from_secs(3600));
    assert_eq!((s.tenant_cache_mb, s.exchange_cache_mb, s.token_cache_mb), (256, 32, 32));
    let budgets = s.cache_budgets();
    const MIB: u64 = 1024 * 1024;
    let tenants = budgets.tenant_records + budgets.tenant_runtimes;
    assert!((256 * MIB - 5..=256 * MIB).contains(&tenants), "three fifths and two: {tenants}");
    assert_eq!(budgets.exchange_results + budgets.user_buckets, 32 * MIB);
    assert_eq!(budgets.verified_bs + budgets.webhook_answers, 16 * MIB);
    assert_eq!(budgets.verified_a1s, 16 * MIB / 1_700, "about 9 900 A1s");
    for variable in ["ACSGW_TENANT_CACHE_MB", "ACSGW_EXCHANGE_CACHE_MB", "ACSGW_TOKEN_CACHE_MB"] {
        let error = settings(&[base[0], base[1], (variable, "0")]).unwrap_err();
        assert_eq!((error.variable, error.message.as_str()), (variable, "expected at least 1 MiB"));
    }
}

#[test]
fn a_missing_or_malformed_setting_names_its_variable() {
    let error = settings(&[("DATABASE_URL", "postgres://localhost/x")]).unwrap_err();
    assert_eq!(error.variable, "ACSGW_SECRET_KEYS");
    let base = [("DATABASE_URL", "postgres://localhost/x"), ("ACSGW_SECRET_KEYS", KEYS)];
    for (variable, bad) in [
        ("ACSGW_LISTEN", "not-an-address"),
        ("ACSGW_ALLOW_INSECURE_HTTP", "maybe"),
        ("ACSGW_LOG_FORMAT", "xml"),
        ("ACSGW_ENTRA_AUTHORITY_HOST", "http://login.example"),
        ("ACSGW_SECRET_KEYS", "k1:short"),
        ("DATABASE_URL", "mysql://x"),
        ("ACSGW_ACS_API_VERSION", "v1"),
        ("ACSGW_USER_EXCHANGES_PER_MINUTE", "0"),
    ] {
        let mut pairs = base.to_vec();
        pairs.retain(|(k, _)| *k != variable);
        pairs.push((variable, bad));
        let error = settings(&pairs).unwrap_err();
        assert_eq!(error.variable, variable, "{error}");
    }
}

#[test]
fn log_settings_default_to_every_line_and_refuse_an_empty_queue_or_a_sample_outside_0_to_1() {
    let log = |pairs: &[(&str, &str)]| {
        let pairs: BTreeMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        LogSettings::from_source(&Source::from_env_fn(|name| pairs.get(name).cloned())?)
    };
    assert_eq!(log(&[]).unwrap(), LogSettings::defaults(LogFormat::Json));
    assert_eq!(LogSettings::defaults(LogFormat::Json).access_sample, 1.0);
    let chosen = log(&[("ACSGW_LOG_QUEUE_LINES", "100"), ("ACSGW_ACCESS_LOG_SAMPLE", "0.05")]).unwrap();
    assert_eq!((chosen.queue_lines, chosen.access_sample), (100, 0.05));
    for (variable, value) in [
        ("ACSGW_LOG_QUEUE_LINES", "0"),
        ("ACSGW_LOG_QUEUE_LINES", "many"),
        ("ACSGW_ACCESS_LOG_SAMPLE", "1.5"),
        ("ACSGW_ACCESS_LOG_SAMPLE", "-0.1"),
        ("ACSGW_ACCESS_LOG_SAMPLE", "NaN"),
    ] {
        assert_eq!(log(&[(variable, value)]).unwrap_err().variable, variable, "{value}");
    }
}

#[test]
fn plain_http_authorities_need_the_insecure_setting() {
    let s = settings(&[
        ("DATABASE_URL", "postgres://localhost/x"),
        ("ACSGW_SECRET_KEYS", KEYS),
        ("ACSGW_ENTRA_AUTHORITY_HOST", "http://127.0.0.1:9000"),
        ("ACSGW_ALLOW_INSECURE_HTTP", "true"),
    ])
    .unwrap();
    assert_eq!(s.transport(), Transport::AllowInsecureHttp);
}

#[test]
fn a_config_file_fills_what_the_environment_leaves_unset_and_refuses_unknown_keys() {
    let dir = std::env::temp_dir().join(format!("acsgw-settings-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    std::fs::write(&file, "listen = \"0.0.0.0:9999\"\nmigrate_on_start = true\n").unwrap();
    let values = read_file(&file).unwrap();
    let source = Source::from_maps(
        |name| match name {
            "DATABASE_URL" => Some("postgres://localhost/x".into()),
            "ACSGW_SECRET_KEYS" => Some(KEYS.into()),
            "ACSGW_MIGRATE_ON_START" => Some("false".into()),
            _ => None,
        },
        &values,
    )
    .unwrap();
    let s = Settings::from_source(&source).unwrap();
    assert_eq!(s.listen.to_string(), "0.0.0.0:9999");
    assert!(!s.migrate_on_start, "the environment wins over the file");
    std::fs::write(&file, "lisen = \"x\"\n").unwrap();
    assert!(read_file(&file).unwrap_err().to_string().contains("unknown setting \"lisen\""));
}
