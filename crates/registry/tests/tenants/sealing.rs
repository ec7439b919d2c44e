//! Purpose binding (a secret opens only for its own tenant and purpose) is tested inside the crate, in
//! `src/tenants/sealing_tests.rs`, where the purposes are visible.

use registry::{
    domain::{AcsCredential, AuthorizationPolicy, fingerprint},
    tenants::OpenedAcsCredential,
};
use secrecy::ExposeSecret;

use crate::helpers::{ACCESS_KEY, WEBHOOK_SECRET, actor, new_tenant, slug, store};

fn access_key() -> Vec<u8> {
    (0u8..32).collect()
}

fn webhook_secret<S: std::fmt::Debug>(policy: &AuthorizationPolicy<S>) -> &S {
    match policy {
        AuthorizationPolicy::Webhook { secret, .. } => secret,
        other => panic!("not a webhook policy: {other:?}"),
    }
}

#[tokio::test]
async fn a_created_tenants_secrets_open_again_from_what_was_stored() {
    let (store, _pool) = store().await;
    store.create(new_tenant("fabrikam"), &actor()).await.unwrap();

    let tenant = store.get(&slug("fabrikam")).await.unwrap().unwrap();
    let opened = tenant.open(store.keyring()).unwrap();

    let OpenedAcsCredential::AccessKey(key) = &opened.credential else { panic!("not an access key") };
    assert_eq!(key.expose_secret(), &access_key());
    assert_eq!(tenant.acs.credential.fingerprint(), fingerprint(&access_key()));
    let secret = webhook_secret(&opened.authorization);
    assert_eq!(secret.expose_secret(), WEBHOOK_SECRET.as_bytes());
    assert_eq!(webhook_secret(&tenant.authorization).fingerprint, fingerprint(WEBHOOK_SECRET.as_bytes()));
}

#[tokio::test]
async fn the_stored_rows_hold_ciphertext_never_the_plaintext() {
    let (store, pool) = store().await;
    let tenant = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();

    let (acs, policy): (String, String) =
        sqlx::query_as("SELECT acs_credential::text, authorization_policy::text FROM tenants WHERE id = $1")
            .bind(tenant.id.as_uuid())
            .fetch_one(&pool)
            .await
            .unwrap();

    let AcsCredential::AccessKey(key) = &tenant.acs.credential else { panic!("not an access key") };
    assert!(acs.contains(&key.sealed.ciphertext), "{acs}");
    assert!(!acs.contains(ACCESS_KEY), "the ACS key is stored in the clear: {acs}");
    assert!(policy.contains(&webhook_secret(&tenant.authorization).sealed.ciphertext), "{policy}");
    assert!(!policy.contains(WEBHOOK_SECRET), "the webhook secret is stored in the clear: {policy}");
    let audit: String = sqlx::query_scalar("SELECT string_agg(changes::text, ' ') FROM audit_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!audit.contains(ACCESS_KEY) && !audit.contains(WEBHOOK_SECRET), "{audit}");
}
