//! The tenant as its audit events diff it: every setting the admin API shows, no secret (fingerprints
//! in their place), and none of the fields every write changes. The gateway's `TenantView` is the
//! same document plus `createdAt`, `updatedAt` and `version`; its tests hold the two together.

use serde_json::{Map, Value, json};

use crate::{
    domain::{AcsCredential, Authority, AuthorityKind, AuthorizationPolicy, JwtKey, Tenant},
    sealing::StoredSecret,
};

/// The tenant's settings as one JSON document (camelCase keys, absent options left out).
pub fn audit_document(tenant: &Tenant) -> Value {
    json!({
        "slug": tenant.slug.as_str(),
        "displayName": tenant.display_name.as_str(),
        "status": tenant.status.as_str(),
        "entra": entra(tenant),
        "acs": acs(tenant),
        "authorization": authorization(&tenant.authorization),
        "limits": {
            "exchangesPerSecond": tenant.limits.exchanges_per_second(),
            "burst": tenant.limits.burst(),
        },
    })
}

fn entra(tenant: &Tenant) -> Value {
    let mut entra = Map::new();
    entra.insert("authority".into(), tenant.entra.authority().kind().into());
    match tenant.entra.authority() {
        Authority::Tenant(id) => entra.insert("tenantId".into(), id.to_string().into()),
        Authority::Organizations(allowed) => entra.insert("allowedTenantIds".into(), strings(allowed)),
        // A pending tenant's: no tenant yet (`organizations` shows its empty list).
        Authority::NotConnected(AuthorityKind::Tenant) => None,
        Authority::NotConnected(AuthorityKind::Organizations) => {
            entra.insert("allowedTenantIds".into(), Value::Array(Vec::new()))
        }
    };
    entra.insert("allowedAppIds".into(), strings(tenant.entra.allowed_app_ids()));
    Value::Object(entra)
}

fn acs(tenant: &Tenant) -> Value {
    let credential = &tenant.acs.credential;
    let mut acs = Map::new();
    acs.insert("endpoint".into(), tenant.acs.endpoint.to_string().into());
    acs.insert("credential".into(), credential.kind().into());
    acs.insert("keyFingerprint".into(), credential.fingerprint().into());
    if let AcsCredential::ClientSecret { tenant_id, client_id, .. } = credential {
        acs.insert("tenantId".into(), tenant_id.to_string().into());
        acs.insert("clientId".into(), client_id.to_string().into());
    }
    Value::Object(acs)
}

fn authorization(policy: &AuthorizationPolicy<StoredSecret>) -> Value {
    match policy {
        AuthorizationPolicy::Entra { audience, required_scopes } => json!({
            "type": "entra",
            "audience": audience,
            "requiredScopes": required_scopes,
        }),
        AuthorizationPolicy::Jwt { issuer, audience, key, user_claim, required_claims } => {
            let mut jwt = Map::new();
            jwt.insert("type".into(), "jwt".into());
            jwt.insert("issuer".into(), issuer.as_str().into());
            jwt.insert("audience".into(), audience.as_str().into());
            match key {
                JwtKey::JwksUri(uri) => jwt.insert("jwksUri".into(), uri.to_string().into()),
                JwtKey::Hs256Secret(secret) => {
                    jwt.insert("hs256SecretFingerprint".into(), secret.fingerprint.as_str().into())
                }
            };
            jwt.insert("userClaim".into(), user_claim.as_str().into());
            jwt.insert("requiredClaims".into(), json!(required_claims));
            Value::Object(jwt)
        }
        AuthorizationPolicy::Webhook { url, secret, timeouts } => json!({
            "type": "webhook",
            "url": url.to_string(),
            "secretFingerprint": secret.fingerprint,
            "timeoutMs": timeouts.timeout_ms,
            "cacheSeconds": timeouts.cache_seconds,
        }),
        AuthorizationPolicy::None => json!({ "type": "none" }),
    }
}

fn strings<T: ToString>(values: &[T]) -> Value {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().into()
}
