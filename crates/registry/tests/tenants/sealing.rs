use registry::{
    domain::{AcsCredential, AuthorizationPolicy, fingerprint},
    sealing::{SealContext, StoredSecret},
    tenants::{ACS_PURPOSE, POLICY_PURPOSE, TenantStore},
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::helpers::{ACCESS_KEY, WEBHOOK_SECRET, actor, new_tenant, slug, store};

fn open(store: &TenantStore, secret: &StoredSecret, tenant: Uuid, purpose: &str) -> Option<Vec<u8>> {
    let opened = store.keyring().open(&secret.sealed, SealContext { tenant, purpose }).ok()?;
    Some(opened.expose_secret().clone())
}

fn access_key() -> Vec<u8> {
    (0u8..32).collect()
}

fn webhook_secret(policy: &AuthorizationPolicy<StoredSecret>) -> &StoredSecret {
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

    let id = tenant.id.as_uuid();
    let AcsCredential::AccessKey(key) = &tenant.acs.credential else { panic!("not an access key") };
    assert_eq!(open(&store, key, id, ACS_PURPOSE), Some(access_key()));
    assert_eq!(key.fingerprint, fingerprint(&access_key()));
    let secret = webhook_secret(&tenant.authorization);
    assert_eq!(open(&store, secret, id, POLICY_PURPOSE), Some(WEBHOOK_SECRET.as_bytes().to_vec()));
    assert_eq!(secret.fingerprint, fingerprint(WEBHOOK_SECRET.as_bytes()));
}

#[tokio::test]
async fn a_sealed_secret_opens_only_for_its_own_tenant_and_purpose() {
    let (store, _pool) = store().await;
    let fabrikam = store.create(new_tenant("fabrikam"), &actor()).await.unwrap();
    let contoso = store.create(new_tenant("contoso"), &actor()).await.unwrap();
    let AcsCredential::AccessKey(key) = &fabrikam.acs.credential else { panic!("not an access key") };

    let as_policy = open(&store, key, fabrikam.id.as_uuid(), POLICY_PURPOSE);
    let as_other_tenant = open(&store, key, contoso.id.as_uuid(), ACS_PURPOSE);

    assert_eq!(as_policy, None, "an ACS key must not open as a policy secret");
    assert_eq!(as_other_tenant, None, "a secret must not open for another tenant");
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
