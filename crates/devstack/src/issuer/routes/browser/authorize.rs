//! `GET`/`POST /{tenant}/oauth2/v2.0/authorize`: the authorization-code flow with PKCE (S256 only),
//! answering with `response_mode=query` only.
//!
//! - `GET` shows the sign-in page (whatever `prompt` says, except `none`); its form posts back here.
//! - `prompt=none` shows nothing: the user is the one `login_hint` names (username or oid), else the
//!   one user of the session cookie that the `{tenant}` admits; no user is `login_required`
//!   (AADSTS50058), several are `interaction_required` (AADSTS16000).
//! - Asking for the Teams permissions needs ACS's service principal in the user's tenant (else
//!   `invalid_client`, AADSTS650052) and the tenant's admin consent for the client: without it,
//!   `prompt=none` gets `consent_required` (AADSTS65001), a non-admin `access_denied` (AADSTS90094),
//!   and an admin the consent page (also shown with `prompt=consent`), whose Accept records the
//!   tenant's consent and whose Cancel is `access_denied` (AADSTS65004). Sign-in alone (OpenID
//!   scopes) needs no consent.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderValue},
    web,
};

use super::{Client, Params, RedirectError, pages, session_cookie, session_users, user_fits};
use crate::issuer::{
    DevIssuer, codes::Grant, directory::TestUser, html::error_page, scopes::Scopes, tenant::parse_guid,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Default,
    None,
    Login,
    SelectAccount,
    Consent,
}

/// A request whose every parameter checked out.
struct Authorize {
    client: Client,
    scopes: Scopes,
    nonce: Option<String>,
    code_challenge: String,
    prompt: Prompt,
    login_hint: Option<String>,
}

/// How the user got here: silently, or by posting a page (with the consent decision, if any).
#[derive(Clone, Copy)]
enum Mode {
    Silent,
    Interactive(Option<bool>),
}

/// `GET /{tenant}/oauth2/v2.0/authorize`
pub async fn get(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
) -> HttpResponse {
    let authorize = match parse(&issuer, &tenant, &Params::parse(request.query_string())) {
        Ok(authorize) => authorize,
        Err(refusal) => return *refusal,
    };
    match authorize.prompt {
        Prompt::None => silent(&issuer, &request, &authorize),
        Prompt::Default | Prompt::Login | Prompt::SelectAccount | Prompt::Consent => {
            let users = issuer.state.directory.users(authorize.client.tenant.tenant_id());
            pages::sign_in(&request, &authorize.client, &users, "")
        }
    }
}

/// `POST /{tenant}/oauth2/v2.0/authorize` from the sign-in page (`user`) or the consent page
/// (`user` and `consent=accept|cancel`).
pub async fn post(
    issuer: web::Data<DevIssuer>,
    request: HttpRequest,
    tenant: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let authorize = match parse(&issuer, &tenant, &Params::parse(request.query_string())) {
        Ok(authorize) => authorize,
        Err(refusal) => return *refusal,
    };
    let form = Params::parse(std::str::from_utf8(&body).unwrap_or_default());
    let Some(user) = posted_user(&issuer, &form).filter(|user| user_fits(authorize.client.tenant, user))
    else {
        return error_page("invalid_request", "Pick one of the test users listed on the sign-in page.");
    };
    let decision = match form.get("consent") {
        Some("accept") => Some(true),
        Some("cancel") => Some(false),
        _ => None,
    };
    let mut response = proceed(&issuer, &request, &authorize, &user, Mode::Interactive(decision));
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(&issuer, &request, &user)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The test user a form names.
pub fn posted_user(issuer: &DevIssuer, form: &Params) -> Option<TestUser> {
    form.get("user").and_then(parse_guid).and_then(|oid| issuer.state.directory.user(oid))
}

fn parse(issuer: &DevIssuer, segment: &str, params: &Params) -> Result<Authorize, Box<HttpResponse>> {
    let client = Client::trusted(issuer, segment, params)?;
    match parse_rest(params) {
        Ok((scopes, code_challenge, prompt)) => Ok(Authorize {
            scopes,
            nonce: params.get("nonce").map(str::to_owned),
            code_challenge,
            prompt,
            login_hint: params.get("login_hint").map(str::to_owned),
            client,
        }),
        Err(error) => Err(Box::new(client.redirect_error(&error))),
    }
}

/// Everything after the client is trusted, in Entra's order.
fn parse_rest(params: &Params) -> Result<(Scopes, String, Prompt), RedirectError> {
    match params.get("response_type").ok_or_else(|| RedirectError::missing("response_type"))? {
        "code" => {}
        other => {
            return Err(RedirectError::new(
                "unsupported_response_type",
                Some(700054),
                format!("response_type '{other}' is not enabled for the application."),
            ));
        }
    }
    if let Some(mode) = params.get("response_mode").filter(|mode| *mode != "query") {
        return Err(RedirectError::new(
            "invalid_request",
            None,
            format!("The dev issuer answers with response_mode=query only, not '{mode}'."),
        ));
    }
    let scope = params.get("scope").ok_or_else(|| RedirectError::missing("scope"))?;
    let scopes =
        Scopes::parse(scope).map_err(|message| RedirectError::new("invalid_scope", Some(70011), message))?;
    let pkce = || {
        RedirectError::new(
            "invalid_request",
            None,
            "The dev issuer requires PKCE with code_challenge_method=S256 ('plain' is refused).",
        )
    };
    let code_challenge = params.get("code_challenge").ok_or_else(pkce)?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err(pkce());
    }
    let well_formed = (43..=128).contains(&code_challenge.len())
        && code_challenge.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if !well_formed {
        return Err(RedirectError::new(
            "invalid_request",
            Some(501491),
            "Invalid size of Code_Challenge parameter.",
        ));
    }
    let prompt = match params.get("prompt") {
        None => Prompt::Default,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        Some("select_account") => Prompt::SelectAccount,
        Some("consent") => Prompt::Consent,
        Some(other) => {
            return Err(RedirectError::new(
                "invalid_request",
                None,
                format!("Invalid prompt value '{other}'."),
            ));
        }
    };
    Ok((scopes, code_challenge.to_owned(), prompt))
}

/// `prompt=none`: the hinted or session user, without a page.
fn silent(issuer: &DevIssuer, request: &HttpRequest, authorize: &Authorize) -> HttpResponse {
    let client = &authorize.client;
    let user = match &authorize.login_hint {
        Some(hint) => match issuer.state.directory.user_by_hint(hint) {
            Some(user) if !user_fits(client.tenant, &user) => {
                return client.redirect_error(&RedirectError::new(
                    "interaction_required",
                    Some(50020),
                    format!("User account '{hint}' does not exist in tenant '{}'.", client.tenant),
                ));
            }
            found => found,
        },
        None => {
            let mut users: Vec<TestUser> = session_users(issuer, request)
                .into_iter()
                .filter(|user| user_fits(client.tenant, user))
                .collect();
            if users.len() > 1 {
                return client.redirect_error(&RedirectError::new(
                    "interaction_required",
                    Some(16000),
                    "Several accounts are signed in: the user must pick one (send login_hint).",
                ));
            }
            users.pop()
        }
    };
    match user {
        Some(user) => proceed(issuer, request, authorize, &user, Mode::Silent),
        None => client.redirect_error(&RedirectError::new(
            "login_required",
            Some(50058),
            "A silent sign-in request was sent but no user is signed in.",
        )),
    }
}

/// The user is known: check the service principal and consent, then answer with a code (or the
/// consent page, or an error).
fn proceed(
    issuer: &DevIssuer,
    request: &HttpRequest,
    authorize: &Authorize,
    user: &TestUser,
    mode: Mode,
) -> HttpResponse {
    let (client, directory) = (&authorize.client, &issuer.state.directory);
    if authorize.scopes.wants_teams() {
        if !directory.has_acs_service_principal(user.tenant) {
            return client.redirect_error(&RedirectError::acs_service_principal_missing(user.tenant));
        }
        let consented = directory.has_consent(user.tenant, client.client_id);
        match mode {
            Mode::Silent if !consented => {
                return client.redirect_error(&RedirectError::new(
                    "consent_required",
                    Some(65001),
                    format!(
                        "The user or administrator has not consented to use the application with ID '{}'. \
                         Send an interactive authorization request for this user and resource.",
                        client.client_id
                    ),
                ));
            }
            Mode::Interactive(Some(false)) => {
                return client.redirect_error(&RedirectError::consent_cancelled());
            }
            Mode::Interactive(_) if !user.admin && !consented => {
                return client.redirect_error(&RedirectError::admin_approval_required());
            }
            Mode::Interactive(Some(true)) if user.admin => {
                directory.grant_consent(user.tenant, client.client_id);
            }
            Mode::Interactive(None) if user.admin && (!consented || authorize.prompt == Prompt::Consent) => {
                return pages::consent(request, client, user, &authorize.scopes);
            }
            Mode::Silent | Mode::Interactive(_) => {}
        }
    }
    let code = issuer.state.codes.issue(Grant {
        client_id: client.client_id,
        redirect_uri: client.redirect_uri.clone(),
        code_challenge: authorize.code_challenge.clone(),
        nonce: authorize.nonce.clone(),
        scopes: authorize.scopes.clone(),
        user: user.clone(),
    });
    tracing::debug!(tid = %user.tenant, oid = %user.oid, client = %client.client_id, "Issued an authorization code");
    client.redirect(&[("code", code.as_str())])
}
