//! Purpose binding, checked here because the purposes are private to this crate: whatever the store
//! seals opens only for its own tenant and purpose. Opening through the public seam is tested in
//! `tests/tenants/sealing.rs`.

use secrecy::SecretString;

use super::*;
use crate::domain::{AccessKey, AcsEndpoint, ServiceUrl, Transport, WebhookTimeouts};

const KEYRING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ACCESS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const WEBHOOK_SECRET: &str = "webhook-secret-that-is-long-enough-0123456789";

fn keyring() -> Keyring {
    Keyring::parse(KEYRING).unwrap()
}

fn open(keyring: &Keyring, secret: &StoredSecret, tenant: Uuid, purpose: &str) -> Option<Vec<u8>> {
    let opened = keyring.open(&secret.sealed, SealContext { tenant, purpose }).ok()?;
    Some(opened.expose_secret().clone())
}

fn sealed_access_key(keyring: &Keyring, tenant: Uuid) -> StoredSecret {
    let acs = NewAcsConnection {
        endpoint: AcsEndpoint::parse("https://fabrikam.communication.azure.com/", Transport::HttpsOnly)
            .unwrap(),
        credential: NewAcsCredential::AccessKey(AccessKey::from_base64(ACCESS_KEY).unwrap()),
    };
    match seal_acs(keyring, tenant, acs).unwrap().credential {
        AcsCredential::AccessKey(key) => key,
        other => panic!("not an access key: {other:?}"),
    }
}

fn sealed_webhook_secret(keyring: &Keyring, tenant: Uuid) -> StoredSecret {
    let policy = AuthorizationPolicy::Webhook {
        url: ServiceUrl::parse("https://auth.contoso.example/decide", Transport::HttpsOnly).unwrap(),
        secret: SecretInput::New(SecretString::from(WEBHOOK_SECRET)),
        timeouts: WebhookTimeouts::default(),
    };
    match seal_policy(keyring, tenant, policy).unwrap() {
        AuthorizationPolicy::Webhook { secret, .. } => secret,
        other => panic!("not a webhook policy: {other:?}"),
    }
}

#[test]
fn a_sealed_secret_opens_only_for_its_own_tenant_and_purpose() {
    let keyring = keyring();
    let (fabrikam, contoso) = (Uuid::now_v7(), Uuid::now_v7());
    let key = sealed_access_key(&keyring, fabrikam);

    let as_itself = open(&keyring, &key, fabrikam, ACS_PURPOSE);
    let as_policy = open(&keyring, &key, fabrikam, POLICY_PURPOSE);
    let as_other_tenant = open(&keyring, &key, contoso, ACS_PURPOSE);

    assert_eq!(as_itself, Some((0u8..32).collect()), "sealed for its tenant and purpose, it opens");
    assert_eq!(as_policy, None, "an ACS key must not open as a policy secret");
    assert_eq!(as_other_tenant, None, "a secret must not open for another tenant");
}

#[test]
fn a_policy_secret_does_not_open_as_an_acs_key() {
    let keyring = keyring();
    let fabrikam = Uuid::now_v7();
    let secret = sealed_webhook_secret(&keyring, fabrikam);

    let as_itself = open(&keyring, &secret, fabrikam, POLICY_PURPOSE);
    let as_acs = open(&keyring, &secret, fabrikam, ACS_PURPOSE);

    assert_eq!(as_itself, Some(WEBHOOK_SECRET.as_bytes().to_vec()));
    assert_eq!(as_acs, None, "a policy secret must not open as an ACS key");
}
