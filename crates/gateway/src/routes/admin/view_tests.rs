//! The view the admin API returns and the document audit events diff must stay one shape.

use registry::{
    domain::{AcsCredential, NewAcsCredential, NewTenant, Tenant, TenantId, Transport},
    sealing::{Keyring, SealContext},
    tenants::audit_document,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::TenantView;
use crate::routes::admin::decode;

const KEYRING: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ENTRA_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "webhook-secret-that-is-long-enough-0123456789";
const CONNECTION_STRING: &str = "endpoint=https://fabrikam.communication.azure.com/;accesskey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A tenant as the repository would return it, from a create body.
fn stored(body: &Value) -> Tenant {
    let keyring = Keyring::parse(KEYRING).unwrap();
    let id = uuid::Uuid::now_v7();
    let context = SealContext { tenant: id, purpose: "test" };
    let NewTenant { slug, display_name, status, entra, acs, authorization, limits } =
        decode::create(body.to_string().as_bytes(), Transport::HttpsOnly).unwrap();
    let credential = match acs.credential {
        NewAcsCredential::AccessKey(key) => {
            AcsCredential::AccessKey(keyring.seal_secret(key.expose(), context).unwrap())
        }
        NewAcsCredential::ClientSecret { tenant_id, client_id, client_secret } => {
            AcsCredential::ClientSecret {
                tenant_id,
                client_id,
                client_secret: keyring
                    .seal_secret(client_secret.expose_secret().as_bytes(), context)
                    .unwrap(),
            }
        }
    };
    let authorization = authorization
        .try_map_secrets(|secret| match secret {
            registry::domain::SecretInput::New(plain) => {
                keyring.seal_secret(plain.expose_secret().as_bytes(), context)
            }
            registry::domain::SecretInput::Keep(stored) => Ok(stored),
        })
        .unwrap();
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    Tenant {
        id: TenantId::from_uuid(id),
        slug,
        display_name,
        status,
        entra,
        acs: registry::domain::AcsConnection { endpoint: acs.endpoint, credential },
        authorization,
        limits,
        created_at: at,
        updated_at: at,
        version: 3,
    }
}

fn body(entra: &Value, acs: &Value, authorization: &Value) -> Value {
    json!({
        "slug": "fabrikam",
        "displayName": "Fabrikam Inc.",
        "entra": entra,
        "acs": acs,
        "authorization": authorization,
        "limits": {"exchangesPerSecond": 10, "burst": 20}
    })
}

fn every_shape() -> Vec<Value> {
    let single = json!({"authority": "tenant", "tenantId": ENTRA_TENANT, "allowedAppIds": [APP_ID]});
    let multi = json!({
        "authority": "organizations", "allowedTenantIds": [ENTRA_TENANT, OTHER_TENANT], "allowedAppIds": [APP_ID]
    });
    let key = json!({"connectionString": CONNECTION_STRING});
    let client = json!({
        "endpoint": "https://fabrikam.communication.azure.com/",
        "credential": {"type": "clientSecret", "tenantId": ENTRA_TENANT, "clientId": APP_ID, "clientSecret": SECRET}
    });
    let policies = [
        json!({"type": "entra", "audience": "api://contoso", "requiredScopes": ["Calls.Use"]}),
        json!({"type": "jwt", "issuer": "https://auth.contoso.example", "audience": "teams",
               "jwksUri": "https://auth.contoso.example/keys", "requiredClaims": {"plan": "pro"}}),
        json!({"type": "jwt", "issuer": "https://auth.contoso.example", "audience": "teams",
               "hs256Secret": SECRET, "userClaim": "oid"}),
        json!({"type": "webhook", "url": "https://auth.contoso.example/decide", "secret": SECRET}),
        json!({"type": "none"}),
    ];
    let mut bodies = vec![body(&multi, &client, &policies[0])];
    bodies.extend(policies.iter().map(|policy| body(&single, &key, policy)));
    // Pending tenants, not connected to an Entra tenant yet.
    for entra in [
        json!({"authority": "tenant", "allowedAppIds": [APP_ID]}),
        json!({"authority": "organizations", "allowedTenantIds": [], "allowedAppIds": [APP_ID]}),
    ] {
        let mut pending = body(&entra, &key, &policies[4]);
        pending["status"] = json!("pending");
        bodies.push(pending);
    }
    bodies
}

#[test]
fn the_audit_document_is_the_view_without_the_fields_every_write_changes() {
    for body in every_shape() {
        let tenant = stored(&body);

        let mut view = serde_json::to_value(TenantView::from(&tenant)).unwrap();
        let map = view.as_object_mut().unwrap();
        for volatile in ["createdAt", "updatedAt", "version"] {
            assert!(map.remove(volatile).is_some(), "{volatile} is in the view");
        }

        assert_eq!(audit_document(&tenant), view, "for {body}");
    }
}
