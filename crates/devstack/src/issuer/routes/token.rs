//! The client-credentials grant: `POST /{tenant}/oauth2/v2.0/token` (`scope=<resource>/.default`)
//! and the v1 `POST /{tenant}/oauth2/token` (`resource=<resource>`), answering like Entra, errors
//! included, with an app-only v1 access token for the resource.
//!
//! The v2 endpoint also redeems authorization codes (`grant_type=authorization_code`, see
//! [`super::code_grant`]).
//!
//! Checks run in Entra's order: tenant, grant type, client id, scope or resource, client
//! registration, secret. The secret is never echoed, logged or stored.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde_json::json;
use uuid::Uuid;

use super::{EntraError, code_grant};
use crate::issuer::{
    DevIssuer, TenantSegment,
    claims::{self, Lifetime},
    clients::ClientCheck,
    jws::{self, Signature},
    tenant::parse_guid,
};

/// Entra's client-credentials tokens report an `expires_in` of 3599 seconds.
pub const EXPIRES_IN_SECONDS: i64 = 3599;
/// What `scope` must end with in the client-credentials flow.
const DEFAULT_SCOPE_SUFFIX: &str = "/.default";

/// `POST /{tenant}/oauth2/v2.0/token`
pub async fn v2(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, EntraError> {
    let form = parse_form(&body);
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        let segment = TenantSegment::parse(&tenant).ok_or_else(|| EntraError::unknown_tenant(&tenant))?;
        let form = code_grant::with_basic_credentials(&request, form)?;
        return code_grant::redeem(&issuer, segment, &form);
    }
    let tenant = tenant_of(&tenant)?;
    check_grant_type(&form)?;
    let client_id = required(&form, "client_id")?;
    let scope = required(&form, "scope")?;
    let audience = resource_of_scope(scope)?;
    let client = authenticate(&issuer, tenant, client_id, form.get("client_secret"))?;
    let issued = issue(&issuer, tenant, client, audience);
    Ok(HttpResponse::Ok().json(json!({
        "token_type": "Bearer",
        "expires_in": EXPIRES_IN_SECONDS,
        "ext_expires_in": EXPIRES_IN_SECONDS,
        "access_token": issued.token,
    })))
}

/// `POST /{tenant}/oauth2/token` (v1: the resource is named directly; numbers come as strings).
pub async fn v1(
    issuer: web::Data<DevIssuer>,
    tenant: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, EntraError> {
    let form = parse_form(&body);
    let tenant = tenant_of(&tenant)?;
    check_grant_type(&form)?;
    let client_id = required(&form, "client_id")?;
    let resource = required(&form, "resource")?;
    let client = authenticate(&issuer, tenant, client_id, form.get("client_secret"))?;
    let issued = issue(&issuer, tenant, client, resource);
    Ok(HttpResponse::Ok().json(json!({
        "token_type": "Bearer",
        "expires_in": EXPIRES_IN_SECONDS.to_string(),
        "ext_expires_in": EXPIRES_IN_SECONDS.to_string(),
        "expires_on": issued.lifetime.expires.to_string(),
        "not_before": issued.lifetime.issued_at.to_string(),
        "resource": resource,
        "access_token": issued.token,
    })))
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Client credentials need one directory: `organizations` and `common` name none.
fn tenant_of(segment: &str) -> Result<Uuid, EntraError> {
    match TenantSegment::parse(segment) {
        Some(TenantSegment::Tenant(id)) => Ok(id),
        Some(TenantSegment::Organizations | TenantSegment::Common) => Err(EntraError::sts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided \
             credentials.",
        )),
        None => Err(EntraError::unknown_tenant(segment)),
    }
}

fn check_grant_type(form: &HashMap<String, String>) -> Result<(), EntraError> {
    match required(form, "grant_type")? {
        "client_credentials" => Ok(()),
        other => Err(EntraError::sts(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

pub fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, EntraError> {
    form.get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| EntraError::missing_parameter(name))
}

/// `https://communication.azure.com//.default` names the resource `https://communication.azure.com/`.
fn resource_of_scope(scope: &str) -> Result<&str, EntraError> {
    match scope.strip_suffix(DEFAULT_SCOPE_SUFFIX) {
        Some(resource) if !resource.is_empty() && !resource.contains(char::is_whitespace) => Ok(resource),
        _ => Err(EntraError::sts(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a \
                 scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )),
    }
}

fn authenticate(
    issuer: &DevIssuer,
    tenant: Uuid,
    client_id: &str,
    secret: Option<&String>,
) -> Result<Uuid, EntraError> {
    let unknown = || {
        EntraError::sts(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This \
                 can happen if the application has not been installed by the administrator of the tenant \
                 or consented to by any user in the tenant. You may have sent your authentication request \
                 to the wrong tenant."
            ),
        )
    };
    let client = parse_guid(client_id).ok_or_else(unknown)?;
    let clients = &issuer.state.clients;
    if !clients.is_registered(tenant, client) {
        return Err(unknown());
    }
    let Some(secret) = secret.filter(|secret| !secret.is_empty()) else {
        return Err(EntraError::sts(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    match clients.check(tenant, client, secret) {
        ClientCheck::Authenticated => Ok(client),
        ClientCheck::UnknownClient => Err(unknown()),
        ClientCheck::WrongSecret => Err(EntraError::sts(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client \
                 secret value, not the client secret ID, for a secret added to app '{client}'."
            ),
        )),
    }
}

struct Issued {
    token: String,
    lifetime: Lifetime,
}

/// Signs an app-only v1 token with the current key. RS256 signing takes about a millisecond, so it
/// runs inline.
fn issue(issuer: &DevIssuer, tenant: Uuid, client: Uuid, audience: &str) -> Issued {
    let now = chrono::Utc::now().timestamp();
    let lifetime = Lifetime { issued_at: now, expires: now + EXPIRES_IN_SECONDS };
    let key = issuer.state.keys.current();
    let claims = claims::app_token(tenant, client, audience, lifetime);
    let token = jws::encode(&jws::entra_header(key.kid(), true), &claims, Signature::Rs256(&key));
    tracing::debug!(tid = %tenant, appid = %client, kid = key.kid(), "Issued a client-credentials token");
    Issued { token, lifetime }
}
