//! The test controls of the browser flows: test users, ACS's service principal per tenant, clients
//! and consents.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /dev/users` | `{"tenant", "oid"?, "name", "admin"?, "teamsLicensed"?}` | 201 the user (`oid` generated when absent; `admin` false and `teamsLicensed` true by default); 409 for a taken oid |
//! | `GET /dev/users?tenant=` | | 200 `{"users": [...]}` (every tenant's without `tenant`) |
//! | `GET`/`POST /dev/tenants/{tenant}/service-principal` | `{"acs": bool}` | 200 `{"tenant", "acs"}` |
//! | `POST /dev/clients` | `{"tenant", "clientId", "clientSecret"?, "redirectUris"?}` | 201 `{"tenant", "clientId", "confidential", "redirectUris"}` |
//! | `POST /dev/consents` | `{"tenant", "clientId"}` | 201: admin consent granted without the pages |

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{EntraError, browser::Params, dev::parse_json};
use crate::issuer::{
    DevIssuer,
    directory::{DirectoryError, NewUser, TestUser},
    tenant::parse_guid,
};

/// `POST /dev/users`
pub async fn add_user(issuer: web::Data<DevIssuer>, body: web::Bytes) -> Result<HttpResponse, EntraError> {
    let new: NewUser = parse_json(&body)?;
    let tenant = guid("tenant", &new.tenant)?;
    let oid = match &new.oid {
        Some(oid) => guid("oid", oid)?,
        None => Uuid::new_v4(),
    };
    let name = new.name.trim();
    if name.is_empty() {
        return Err(EntraError::invalid_request("`name`: must not be empty"));
    }
    let user = TestUser::new(tenant, oid, name.to_owned(), new.admin, new.teams_licensed);
    let user = issuer.add_user(user).map_err(|error| match error {
        DirectoryError::DuplicateUser(_) => EntraError::conflict(error.to_string()),
    })?;
    tracing::debug!(tid = %user.tenant, oid = %user.oid, admin = user.admin, licensed = user.teams_licensed, "Added a test user");
    Ok(HttpResponse::Created().json(user))
}

/// `GET /dev/users?tenant=`
pub async fn list_users(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
) -> Result<HttpResponse, EntraError> {
    let params = Params::parse(request.query_string());
    let tenant = params.get("tenant").map(|tenant| guid("tenant", tenant)).transpose()?;
    Ok(HttpResponse::Ok().json(json!({ "users": issuer.users(tenant) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicePrincipals {
    acs: bool,
}

/// `POST /dev/tenants/{tenant}/service-principal`
pub async fn set_service_principal(
    issuer: web::Data<DevIssuer>,
    tenant: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, EntraError> {
    let tenant = guid("tenant", &tenant)?;
    let setting: ServicePrincipals = parse_json(&body)?;
    issuer.set_acs_service_principal(tenant, setting.acs);
    Ok(HttpResponse::Ok().json(json!({ "tenant": tenant, "acs": setting.acs })))
}

/// `GET /dev/tenants/{tenant}/service-principal`
pub async fn get_service_principal(
    issuer: web::Data<DevIssuer>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, EntraError> {
    let tenant = guid("tenant", &tenant)?;
    let acs = issuer.state.directory.has_acs_service_principal(tenant);
    Ok(HttpResponse::Ok().json(json!({ "tenant": tenant, "acs": acs })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewClient {
    tenant: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

/// `POST /dev/clients`: a confidential client with `clientSecret` (also for client credentials in
/// `tenant`), a public one without; the secret is never echoed.
pub async fn add_client(issuer: web::Data<DevIssuer>, body: web::Bytes) -> Result<HttpResponse, EntraError> {
    let new: NewClient = parse_json(&body)?;
    let tenant = guid("tenant", &new.tenant)?;
    let client = guid("clientId", &new.client_id)?;
    if let Some(bad) = new.redirect_uris.iter().find(|uri| url::Url::parse(uri).is_err()) {
        return Err(EntraError::invalid_request(format!("`redirectUris`: '{bad}' is not an absolute URI")));
    }
    let secret = new.client_secret.filter(|secret| !secret.is_empty());
    if let Some(secret) = &secret {
        issuer.register_client(tenant, client, secret);
    }
    issuer.register_redirect_uris(client, new.redirect_uris.clone());
    Ok(HttpResponse::Created().json(json!({
        "tenant": tenant,
        "clientId": client,
        "confidential": secret.is_some(),
        "redirectUris": new.redirect_uris,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewConsent {
    tenant: String,
    client_id: String,
}

/// `POST /dev/consents`
pub async fn add_consent(issuer: web::Data<DevIssuer>, body: web::Bytes) -> Result<HttpResponse, EntraError> {
    let new: NewConsent = parse_json(&body)?;
    let tenant = guid("tenant", &new.tenant)?;
    let client = guid("clientId", &new.client_id)?;
    issuer.state.directory.grant_consent(tenant, client);
    Ok(HttpResponse::Created().json(json!({ "tenant": tenant, "clientId": client })))
}

fn guid(field: &str, value: &str) -> Result<Uuid, EntraError> {
    parse_guid(value)
        .ok_or_else(|| EntraError::invalid_request(format!("`{field}`: '{value}' is not a GUID")))
}
