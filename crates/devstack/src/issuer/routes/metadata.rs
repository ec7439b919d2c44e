//! The OpenID metadata documents and key sets, v1 and v2, shaped like Entra's
//! (entra-validation.md §1.3).
//!
//! The `issuer` members are Entra's real issuer strings, independent of the host serving them; the
//! endpoint URLs (`jwks_uri`, `token_endpoint`, ...) point back at this server.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{EntraError, request_base};
use crate::issuer::{DevIssuer, TenantSegment};

/// Claims Entra lists in its documents; relying parties rarely read this, but keep it plausible.
const CLAIMS_SUPPORTED: [&str; 16] = [
    "sub",
    "iss",
    "cloud_instance_name",
    "cloud_instance_host_name",
    "cloud_graph_host_name",
    "msgraph_host",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "email",
    "given_name",
    "family_name",
];

/// `GET /{tenant}/.well-known/openid-configuration`
pub async fn v1(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
) -> Result<HttpResponse, EntraError> {
    let tenant = parse(&tenant)?;
    issuer.count_metadata_fetch();
    let base = format!("{}/{tenant}", request_base(&request));
    let mut document = common_members();
    extend(
        &mut document,
        json!({
            "issuer": tenant.v1_issuer(),
            "jwks_uri": format!("{base}/discovery/keys"),
            "token_endpoint": format!("{base}/oauth2/token"),
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "device_authorization_endpoint": format!("{base}/oauth2/devicecode"),
            "end_session_endpoint": format!("{base}/oauth2/logout"),
            "scopes_supported": ["openid"],
            "microsoft_multi_refresh_token": true,
        }),
    );
    Ok(HttpResponse::Ok().json(document))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`
pub async fn v2(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
) -> Result<HttpResponse, EntraError> {
    let tenant = parse(&tenant)?;
    issuer.count_metadata_fetch();
    let base = format!("{}/{tenant}", request_base(&request));
    let mut document = common_members();
    extend(
        &mut document,
        json!({
            "issuer": tenant.v2_issuer(),
            "jwks_uri": format!("{base}/discovery/v2.0/keys"),
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
            "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "request_uri_parameter_supported": false,
        }),
    );
    Ok(HttpResponse::Ok().json(document))
}

/// `GET /{tenant}/discovery/keys`: the v1 key set, whose keys carry no `issuer`.
pub async fn v1_keys(
    issuer: web::Data<DevIssuer>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, EntraError> {
    let tenant = parse(&tenant)?;
    Ok(key_set(&issuer, tenant, None))
}

/// `GET /{tenant}/discovery/v2.0/keys`: the v2 key set, each key naming the issuer it signs for (the
/// `{tenantid}` template under `organizations`/`common`).
pub async fn v2_keys(
    issuer: web::Data<DevIssuer>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, EntraError> {
    let tenant = parse(&tenant)?;
    Ok(key_set(&issuer, tenant, Some(&tenant.v2_issuer())))
}

/// The keys every tenant shares and, in a tenant's own set, the keys of its own.
fn key_set(issuer: &DevIssuer, tenant: TenantSegment, key_issuer: Option<&str>) -> HttpResponse {
    issuer.count_key_set_fetch();
    let keys = issuer.key_set_keys(tenant.tenant_id());
    let keys: Vec<Value> = keys.iter().map(|key| key.to_jwk(key_issuer)).collect();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

fn parse(segment: &str) -> Result<TenantSegment, EntraError> {
    TenantSegment::parse(segment).ok_or_else(|| EntraError::unknown_tenant(segment))
}

/// Members the v1 and v2 documents share.
fn common_members() -> Value {
    json!({
        "token_endpoint_auth_methods_supported":
            ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })
}

fn extend(document: &mut Value, members: Value) {
    if let (Some(document), Value::Object(members)) = (document.as_object_mut(), members) {
        document.extend(members);
    }
}
