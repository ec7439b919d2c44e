//! The admin API's tenant bodies on arbitrary bytes: `mode create 0x00 patch`. The create body goes
//! through `POST /admin/v1/tenants`'s decoding; the patch (a JSON merge patch) is applied to the
//! tenant it creates, or to a fixed one when it is refused. Bit 0 of `mode` allows plain http.
//!
//! Invariants: no panic; a refusal never echoes a secret of the body (it is the same with other
//! secrets as valid); an empty patch changes nothing
//! (the tenant's own view decodes back to the same settings and secrets); a patch applied twice
//! changes no more than applied once.

#![no_main]

use acsgw_fuzz::mask_access_keys;
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::DateTime;
use gateway::admin_decode;
use libfuzzer_sys::fuzz_target;
use registry::{
    domain::{
        AcsConnection, AcsCredential, NewAcsCredential, NewTenant, SecretInput, Tenant, TenantChanges,
        TenantId, Transport, fingerprint,
    },
    sealing::{Sealed, StoredSecret},
};
use secrecy::ExposeSecret;
use serde_json::Value;

const BASE: &str = r#"{
    "slug": "fabrikam", "displayName": "Fabrikam Inc.",
    "entra": {"authority": "tenant", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
              "allowedAppIds": ["11111111-2222-3333-4444-555555555555"]},
    "acs": {"connectionString": "endpoint=https://fabrikam.communication.azure.com/;accesskey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
    "authorization": {"type": "webhook", "url": "https://auth.contoso.example/decide",
                      "secret": "webhook-secret-webhook-secret-0123456789"},
    "limits": {"exchangesPerSecond": 10, "burst": 20}
}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let transport = if mode & 1 == 0 { Transport::HttpsOnly } else { Transport::AllowInsecureHttp };
    let (create, patch) = match rest.iter().position(|b| *b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b""[..]),
    };
    let tenant = match admin_decode::create(create, transport) {
        Ok(new) => store(new),
        Err(_) => {
            same_refusal_masked(create, |body| admin_decode::create(body, transport).map(|_| ()));
            store(admin_decode::create(BASE.as_bytes(), transport).expect("the base tenant is valid"))
        }
    };
    let unchanged = admin_decode::patch(&tenant, b"{}", transport)
        .unwrap_or_else(|e| panic!("an empty patch is refused: {e:?}\n{tenant:#?}"));
    assert_eq!(apply(&tenant, unchanged), tenant, "an empty patch changes the tenant");

    match admin_decode::patch(&tenant, patch, transport) {
        Ok(changes) => {
            let once = apply(&tenant, changes);
            let twice = admin_decode::patch(&once, patch, transport)
                .unwrap_or_else(|e| panic!("a patch applied once is refused the second time: {e:?}"));
            assert_eq!(apply(&once, twice), once, "a patch applied twice changes more than once");
        }
        Err(_) => {
            same_refusal_masked(patch, |body| admin_decode::patch(&tenant, body, transport).map(|_| ()))
        }
    }
});

/// The tenant as the repository would store it, secrets "sealed" into a comparable form.
fn store(new: NewTenant) -> Tenant {
    let NewTenant { slug, display_name, status, entra, acs, authorization, limits } = new;
    let credential = match acs.credential {
        NewAcsCredential::AccessKey(key) => AcsCredential::AccessKey(sealed(key.expose())),
        NewAcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
            AcsCredential::ClientSecret {
                tenant_id,
                client_id,
                client_secret: sealed(client_secret.expose_secret().as_bytes()),
            }
        }
    };
    let authorization = authorization.try_map_secrets(|s| Ok::<_, ()>(seal_input(s))).expect("infallible");
    let at = DateTime::from_timestamp(1_700_000_000, 0).expect("a date");
    Tenant {
        id: TenantId::from_uuid(uuid::Uuid::nil()),
        slug,
        display_name,
        status,
        entra,
        acs: AcsConnection { endpoint: acs.endpoint, credential },
        authorization,
        limits,
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

/// `changes` applied to `tenant`, as the repository's update does.
fn apply(tenant: &Tenant, changes: TenantChanges) -> Tenant {
    let TenantChanges { display_name, status, entra, authorization, limits } = changes;
    let authorization = authorization.try_map_secrets(|s| Ok::<_, ()>(seal_input(s))).expect("infallible");
    Tenant { display_name, status, entra, authorization, limits, ..tenant.clone() }
}

fn seal_input(secret: SecretInput) -> StoredSecret {
    match secret {
        SecretInput::New(plain) => sealed(plain.expose_secret().as_bytes()),
        SecretInput::Keep(stored) => stored,
    }
}

/// Deterministic, so the same secret sent twice is stored the same.
fn sealed(plain: &[u8]) -> StoredSecret {
    StoredSecret {
        fingerprint: fingerprint(plain),
        sealed: Sealed { key_id: "fuzz".into(), nonce: String::new(), ciphertext: STANDARD.encode(plain) },
    }
}

/// A refused body is refused the same once its write-only values (the members named like secrets,
/// the access key of a connection string) are replaced by others as valid: the refusal cannot echo
/// them. Both bodies are compared as serde_json writes them back, so only the secrets differ.
fn same_refusal_masked<E: std::fmt::Debug>(body: &[u8], decode: impl Fn(&[u8]) -> Result<(), E>) {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else { return };
    let original = serde_json::to_vec(&value).expect("JSON");
    if !mask(&mut value) {
        return;
    }
    let masked = serde_json::to_vec(&value).expect("JSON");
    let refusal = |body: &[u8]| decode(body).err().map(|e| format!("{e:?}"));
    assert_eq!(refusal(&masked), refusal(&original), "the refusal depends on a secret");
}

/// Replaces each secret by as many `x`s (shared secrets are judged by their length, client secrets by
/// being empty), and the access keys of connection strings; says whether there was any.
fn mask(value: &mut Value) -> bool {
    match value {
        Value::Array(items) => items.iter_mut().fold(false, |any, v| mask(v) | any),
        Value::Object(members) => members.iter_mut().fold(false, |any, (name, member)| {
            let masked = match (name.as_str(), &*member) {
                ("secret" | "hs256Secret" | "clientSecret", Value::String(s)) => Some("x".repeat(s.len())),
                ("connectionString", Value::String(s)) => Some(mask_access_keys(s)),
                _ => None,
            };
            match masked {
                Some(masked) => {
                    *member = Value::String(masked);
                    true
                }
                None => mask(member) | any,
            }
        }),
        _ => false,
    }
}
