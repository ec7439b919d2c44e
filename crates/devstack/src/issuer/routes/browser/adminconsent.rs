//! `GET`/`POST /{tenant}/v2.0/adminconsent?client_id&scope&redirect_uri&state`: tenant-wide admin
//! consent, as on Microsoft's admin consent endpoint.
//!
//! The admin picks a test user (the sign-in page; skipped when the session cookie of an earlier
//! sign-in names exactly one user the `{tenant}` admits, as Entra's single sign-on skips it), then
//! accepts or cancels the permissions (the consent page). Answers, by redirect:
//! - accepted: `admin_consent=True&tenant={tid}&scope={granted, space-separated}&state`; the consent
//!   of (tid, client) is recorded, so later authorization requests of the tenant's users pass;
//! - cancelled: `error=access_denied&error_subcode=cancel&error_description=AADSTS65004…&error_uri
//!   &admin_consent=True&state` (Entra really does add `admin_consent=True` to this error);
//! - a non-admin: `error=access_denied` with AADSTS90094;
//! - ACS's service principal missing in the admin's tenant (Teams scopes asked for):
//!   `error=invalid_client` with AADSTS650052.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderValue},
    web,
};

use super::{
    Client, Params, RedirectError, authorize::posted_user, pages, session_cookie, session_users, user_fits,
};
use crate::issuer::{DevIssuer, directory::TestUser, html::error_page, scopes::Scopes};

/// `GET /{tenant}/v2.0/adminconsent`: the sign-in page, or, when the session cookie names exactly
/// one user the `{tenant}` admits (single sign-on), straight on as that user.
pub async fn get(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
) -> HttpResponse {
    let (client, scopes) = match parse(&issuer, &tenant, &Params::parse(request.query_string())) {
        Ok(parsed) => parsed,
        Err(refusal) => return *refusal,
    };
    let mut signed_in: Vec<TestUser> =
        session_users(&issuer, &request).into_iter().filter(|user| user_fits(client.tenant, user)).collect();
    if signed_in.len() == 1
        && let Some(user) = signed_in.pop()
    {
        return decide(&issuer, &request, &client, &scopes, &user, None);
    }
    let users = issuer.state.directory.users(client.tenant.tenant_id());
    pages::sign_in(&request, &client, &users, "as an administrator, to grant it permissions")
}

/// `POST /{tenant}/v2.0/adminconsent` from the sign-in page (`user`) or the consent page (`user`
/// and `consent=accept|cancel`).
pub async fn post(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (client, scopes) = match parse(&issuer, &tenant, &Params::parse(request.query_string())) {
        Ok(parsed) => parsed,
        Err(refusal) => return *refusal,
    };
    let form = Params::parse(std::str::from_utf8(&body).unwrap_or_default());
    let Some(user) = posted_user(&issuer, &form).filter(|user| user_fits(client.tenant, user)) else {
        return error_page("invalid_request", "Pick one of the test users listed on the sign-in page.");
    };
    let mut response = decide(&issuer, &request, &client, &scopes, &user, form.get("consent"));
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&issuer, &request, &user)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The user is known: refuse, show the consent page, or act on its `decision`.
fn decide(
    issuer: &DevIssuer,
    request: &HttpRequest,
    client: &Client,
    scopes: &Scopes,
    user: &TestUser,
    decision: Option<&str>,
) -> HttpResponse {
    let directory = &issuer.state.directory;
    if !user.admin {
        return client.redirect_error(&RedirectError::admin_approval_required());
    }
    if scopes.wants_teams() && !directory.has_acs_service_principal(user.tenant) {
        return client.redirect_error(&RedirectError::acs_service_principal_missing(user.tenant));
    }
    match decision {
        Some("accept") => {
            directory.grant_consent(user.tenant, client.client_id);
            tracing::debug!(tid = %user.tenant, client = %client.client_id, "Admin consent granted");
            let (tenant, granted) = (user.tenant.to_string(), scopes.granted());
            client.redirect(&[
                ("admin_consent", "True"),
                ("tenant", tenant.as_str()),
                ("scope", granted.as_str()),
            ])
        }
        Some("cancel") => {
            let mut error = RedirectError::consent_cancelled();
            error.extra.push(("admin_consent", "True"));
            client.redirect_error(&error)
        }
        _ => pages::consent(request, client, user, scopes),
    }
}

fn parse(issuer: &DevIssuer, segment: &str, params: &Params) -> Result<(Client, Scopes), Box<HttpResponse>> {
    let client = Client::trusted(issuer, segment, params)?;
    let scopes = match params.get("scope") {
        None => Err(RedirectError::missing("scope")),
        Some(scope) => {
            Scopes::parse(scope).map_err(|message| RedirectError::new("invalid_scope", Some(70011), message))
        }
    };
    match scopes {
        Ok(scopes) => Ok((client, scopes)),
        Err(error) => Err(Box::new(client.redirect_error(&error))),
    }
}
