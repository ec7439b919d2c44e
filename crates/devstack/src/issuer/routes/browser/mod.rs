//! The browser flows: `/{tenant}/oauth2/v2.0/authorize` and `/{tenant}/v2.0/adminconsent`.
//!
//! Both first establish that the redirect target can be trusted (a GUID `client_id`, an absolute
//! `http(s)` `redirect_uri`, registered for the client if the client registered any); until then
//! errors are pages, as in Entra, and after that they are redirects carrying `error`,
//! `error_description` (`AADSTS…`), `error_uri` and `state`.
//!
//! Signing in is picking a test user on a page (one button per user, no password). The forms
//! post back to the same URL, query included, so nothing is kept between the page and the post.
//! Signing in also sets a `dev_entra_session` cookie (HttpOnly, SameSite=Lax) naming the signed-in
//! users, which `prompt=none` uses when there is no `login_hint`.

pub mod adminconsent;
pub mod authorize;
mod pages;

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::header};
use url::Url;
use uuid::Uuid;

use super::error::AadstsDescription;
use crate::issuer::{DevIssuer, TenantSegment, directory::TestUser, html::error_page, tenant::parse_guid};

/// The session cookie: the oids of the users signed in with this browser, dot-separated.
const SESSION_COOKIE: &str = "dev_entra_session";

/// The query (or form) parameters, last value winning, empty values treated as absent.
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(text: &str) -> Self {
        Self(url::form_urlencoded::parse(text.as_bytes()).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }
}

/// A client whose redirect URI may receive answers.
pub struct Client {
    pub tenant: TenantSegment,
    pub client_id: Uuid,
    /// As the request gave it: the code is bound to exactly this string.
    pub redirect_uri: String,
    pub state: Option<String>,
}

impl Client {
    /// Checks the tenant segment, `client_id` and `redirect_uri`; a failure is an error page (boxed, as
    /// every refusal in a `Result` here: a response is large).
    pub fn trusted(issuer: &DevIssuer, segment: &str, params: &Params) -> Result<Self, Box<HttpResponse>> {
        let tenant = TenantSegment::parse(segment).ok_or_else(|| {
            sts_page(
                "invalid_tenant",
                90002,
                &format!("Tenant '{segment}' not found. The dev issuer serves GUID tenants, 'organizations' and 'common'."),
            )
        })?;
        let client = params.get("client_id").ok_or_else(|| missing_page("client_id"))?;
        let client_id = parse_guid(client).ok_or_else(|| {
            sts_page(
                "unauthorized_client",
                700016,
                &format!("Application with identifier '{client}' was not found in the directory."),
            )
        })?;
        let redirect_uri = params.get("redirect_uri").ok_or_else(|| missing_page("redirect_uri"))?;
        let absolute = Url::parse(redirect_uri)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
        if !absolute {
            return Err(sts_page(
                "invalid_request",
                90102,
                "'redirect_uri' value must be a valid absolute URI.",
            ));
        }
        if !issuer.state.clients.accepts_redirect(client_id, redirect_uri) {
            return Err(sts_page(
                "invalid_request",
                50011,
                &format!(
                    "The redirect URI '{redirect_uri}' specified in the request does not match the redirect \
                     URIs configured for the application '{client_id}'."
                ),
            ));
        }
        Ok(Self {
            tenant,
            client_id,
            redirect_uri: redirect_uri.to_owned(),
            state: params.get("state").map(str::to_owned),
        })
    }

    /// `scheme://host[:port]` of the redirect URI, for the pages' `form-action`.
    pub fn redirect_origin(&self) -> Option<String> {
        Url::parse(&self.redirect_uri).ok().map(|url| url.origin().ascii_serialization())
    }

    /// A 302 to the redirect URI with `pairs` appended to its query, then `state`.
    pub fn redirect(&self, pairs: &[(&str, &str)]) -> HttpResponse {
        // `trusted` parsed it already.
        let Ok(mut url) = Url::parse(&self.redirect_uri) else {
            return error_page("invalid_request", "'redirect_uri' value must be a valid absolute URI.");
        };
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in pairs {
                query.append_pair(name, value);
            }
            if let Some(state) = &self.state {
                query.append_pair("state", state);
            }
        }
        HttpResponse::Found()
            .insert_header((header::LOCATION, url.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    }

    /// A 302 to the redirect URI carrying an error.
    pub fn redirect_error(&self, error: &RedirectError) -> HttpResponse {
        let description = match error.code {
            Some(code) => AadstsDescription::new(code, &error.message).text,
            None => error.message.clone(),
        };
        let error_uri = error.code.map(|code| format!("https://login.microsoftonline.com/error?code={code}"));
        let mut pairs: Vec<(&str, &str)> = vec![("error", error.error)];
        pairs.extend(error.subcode.map(|subcode| ("error_subcode", subcode)));
        pairs.push(("error_description", description.as_str()));
        pairs.extend(error_uri.as_deref().map(|uri| ("error_uri", uri)));
        pairs.extend(error.extra.iter().map(|(name, value)| (*name, *value)));
        self.redirect(&pairs)
    }
}

/// An error sent back to the client by redirect.
pub struct RedirectError {
    pub error: &'static str,
    pub subcode: Option<&'static str>,
    /// The AADSTS number; `None` for refusals particular to the dev issuer (e.g. `plain` PKCE).
    pub code: Option<u32>,
    pub message: String,
    /// Further parameters, before `state` (the admin consent endpoint's `admin_consent`).
    pub extra: Vec<(&'static str, &'static str)>,
}

impl RedirectError {
    pub fn new(error: &'static str, code: Option<u32>, message: impl Into<String>) -> Self {
        Self { error, subcode: None, code, message: message.into(), extra: Vec::new() }
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            "invalid_request",
            Some(900144),
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS650052: the tenant has no service principal for ACS.
    pub fn acs_service_principal_missing(tenant: Uuid) -> Self {
        Self::new(
            "invalid_client",
            Some(650052),
            format!(
                "The app is trying to access a service '{}'({}) that your organization '{tenant}' lacks a \
                 service principal for. Contact your IT Admin to review the configuration of your service \
                 subscriptions or consent to the application in order to create the required service \
                 principal.",
                crate::issuer::scopes::ACS_APP_ID,
                crate::issuer::scopes::ACS_DISPLAY_NAME
            ),
        )
    }

    /// AADSTS90094: only an administrator may grant what is asked.
    pub fn admin_approval_required() -> Self {
        Self::new(
            "access_denied",
            Some(90094),
            "The grant requires admin permission. An administrator of your organization must approve \
             this application's permissions (admin consent) before you can use it.",
        )
    }

    /// AADSTS65004: the user cancelled the consent page.
    pub fn consent_cancelled() -> Self {
        Self {
            subcode: Some("cancel"),
            ..Self::new("access_denied", Some(65004), "User declined to consent to access the app.")
        }
    }
}

/// A `{tenant}` segment that names a directory must be the user's.
pub fn user_fits(tenant: TenantSegment, user: &TestUser) -> bool {
    tenant.tenant_id().is_none_or(|tenant| tenant == user.tenant)
}

/// The test users signed in with this browser (the session cookie), that still exist.
pub fn session_users(issuer: &DevIssuer, request: &HttpRequest) -> Vec<TestUser> {
    let Some(cookies) = request.headers().get(header::COOKIE).and_then(|value| value.to_str().ok()) else {
        return Vec::new();
    };
    let value = cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == SESSION_COOKIE).then_some(value))
        .unwrap_or_default();
    value.split('.').filter_map(parse_guid).filter_map(|oid| issuer.state.directory.user(oid)).collect()
}

/// The `Set-Cookie` value that adds `user` to the session.
pub fn session_cookie(issuer: &DevIssuer, request: &HttpRequest, user: &TestUser) -> String {
    let mut oids: Vec<String> = session_users(issuer, request)
        .into_iter()
        .filter(|known| known.oid != user.oid)
        .map(|known| known.oid.to_string())
        .collect();
    oids.push(user.oid.to_string());
    format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", oids.join("."))
}

/// An error page (boxed: the refusal of a `Result`).
fn sts_page(error: &str, code: u32, message: &str) -> Box<HttpResponse> {
    Box::new(error_page(error, &AadstsDescription::new(code, message).text))
}

fn missing_page(name: &str) -> Box<HttpResponse> {
    sts_page(
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}
