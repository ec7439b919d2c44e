use std::sync::Arc;

use registry::{
    audit::Actor,
    domain::{AuthorizationPolicy, TenantSlug},
    sealing::{Keyring, SealError},
    tenants::{OpenedAcsCredential, OpenedTenant, TenantStore},
};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::helpers::{ACCESS_KEY, KEYRING, WEBHOOK_SECRET, spawn_app};

const NEW_KEY: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// The opened ACS access key (a panic if the credential is another kind).
fn access_key(opened: &OpenedTenant) -> &[u8] {
    let OpenedAcsCredential::AccessKey(key) = &opened.credential else { panic!("access key") };
    key.expose_secret()
}

async fn stored_row(app: &crate::helpers::TestApp, slug: &str) -> String {
    sqlx::query_scalar("SELECT row_to_json(t)::text FROM tenants t WHERE slug = $1")
        .bind(slug)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_database_row_holds_no_plaintext_secret() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let row = stored_row(&app, &slug).await;
    assert!(!row.contains(ACCESS_KEY), "{row}");
    assert!(!row.contains("000102030405060708090a0b0c0d0e0f"), "no hex of the key either");
    assert!(!row.contains(WEBHOOK_SECRET), "{row}");
    let row: Value = serde_json::from_str(&row).unwrap();
    assert_eq!(row["acs_credential"]["accessKey"]["keyId"], "k1");
    assert!(row["acs_credential"]["accessKey"]["ciphertext"].as_str().unwrap().len() > 40);
    assert_eq!(row["authorization_policy"]["secret"]["keyId"], "k1");
}

#[tokio::test]
async fn the_stored_key_opens_to_the_original_with_the_keyring_and_fails_clearly_without_it() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let store =
        TenantStore::new(app.pool.clone(), Arc::new(Keyring::parse(KEYRING).unwrap()), Default::default());
    let tenant = store.get(&TenantSlug::parse(&slug).unwrap()).await.unwrap().unwrap();
    let opened = tenant.open(store.keyring()).unwrap();
    assert_eq!(access_key(&opened), (0u8..32).collect::<Vec<_>>());

    let wrong = Keyring::parse(NEW_KEY).unwrap();
    let Err(error) = tenant.open(&wrong) else { panic!("opened without the key it was sealed with") };
    assert_eq!(error.to_string(), "secret was sealed with key \"k1\", which is not in ACSGW_SECRET_KEYS");
}

#[tokio::test]
async fn resealing_moves_every_secret_to_the_new_first_key_and_the_old_key_can_then_go() {
    let app = spawn_app().await;
    let (slug, before) = app.create_tenant().await;
    let rotated = TenantStore::new(
        app.pool.clone(),
        Arc::new(Keyring::parse(&format!("{NEW_KEY},{KEYRING}")).unwrap()),
        Default::default(),
    );
    assert_eq!(rotated.reseal_all(&Actor::cli("reseal")).await.unwrap(), 1);
    assert_eq!(rotated.reseal_all(&Actor::cli("reseal")).await.unwrap(), 0, "nothing left to move");

    let row: Value = serde_json::from_str(&stored_row(&app, &slug).await).unwrap();
    assert_eq!(row["acs_credential"]["accessKey"]["keyId"], "k2");
    assert_eq!(row["authorization_policy"]["secret"]["keyId"], "k2");

    let new_only =
        TenantStore::new(app.pool.clone(), Arc::new(Keyring::parse(NEW_KEY).unwrap()), Default::default());
    let tenant = new_only.get(&TenantSlug::parse(&slug).unwrap()).await.unwrap().unwrap();
    let opened = tenant.open(new_only.keyring()).unwrap();
    assert_eq!(access_key(&opened), (0u8..32).collect::<Vec<_>>());
    let AuthorizationPolicy::Webhook { secret, .. } = &opened.authorization else { panic!("webhook") };
    assert_eq!(secret.expose_secret(), WEBHOOK_SECRET.as_bytes());

    let after: Value = app.get_tenant(&slug).await.json().await.unwrap();
    assert_eq!(after["acs"]["keyFingerprint"], before["acs"]["keyFingerprint"]);
    assert_eq!(after["version"], before["version"], "resealing changes no setting");
}

#[tokio::test]
async fn resealing_with_a_keyring_that_lacks_a_key_fails_and_writes_nothing() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let before = stored_row(&app, &slug).await;
    let wrong =
        TenantStore::new(app.pool.clone(), Arc::new(Keyring::parse(NEW_KEY).unwrap()), Default::default());
    let error = wrong.reseal_all(&Actor::cli("reseal")).await.unwrap_err();
    assert!(error.to_string().contains("key \"k1\", which is not in ACSGW_SECRET_KEYS"), "{error}");
    assert_eq!(stored_row(&app, &slug).await, before);
    assert_eq!(app.get_tenant(&slug).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sealed_value_copied_into_another_tenant_does_not_open_there() {
    let app = spawn_app().await;
    let (first, _) = app.create_tenant().await;
    let (second, _) = app.create_tenant().await;
    sqlx::query("UPDATE tenants SET acs_credential = (SELECT acs_credential FROM tenants WHERE slug = $1) WHERE slug = $2")
        .bind(&first)
        .bind(&second)
        .execute(&app.pool)
        .await
        .unwrap();
    let store =
        TenantStore::new(app.pool.clone(), Arc::new(Keyring::parse(KEYRING).unwrap()), Default::default());
    let tenant = store.get(&TenantSlug::parse(&second).unwrap()).await.unwrap().unwrap();
    let opened = tenant.open(store.keyring());
    assert!(matches!(opened, Err(SealError::DoesNotOpen(_))));
}
