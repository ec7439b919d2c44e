//! The customer admin's pages, public (the invitation's token is the credential):
//! `GET /onboarding/{token}` says who asks for what and offers "Connect your Microsoft 365 tenant", a
//! form posting to `/onboarding/{token}/start`, where the sign-in and consent round trip begins (the
//! next step: it answers 501 for now). An unknown token is 404; an expired, revoked or used one 410;
//! each a page in plain words that names no tenant. Pages are HTML without script, under a strict
//! CSP, never stored and never sent on as a referrer (their URL holds the token). Without
//! onboarding's settings they answer 503 `not_configured` (problem details naming what is missing).

mod pages;

use std::borrow::Cow;

use actix_web::{
    HttpResponse, get,
    http::{StatusCode, header},
    post, web,
};
use maud::Markup;
use registry::{
    RegistryError,
    health::{Budget, RETRY_AFTER},
    invitations::{self, InvitationState, Invited, TokenHash},
};

use crate::{category::Category, problem::Problem, settings::Onboarding, state::AppState};

/// The invitation's page.
#[get("/onboarding/{token}")]
pub async fn invitation_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let onboarding = configured(&state)?;
    Ok(match open_invitation(&state, &token).await {
        Ok(invited) => page(onboarding, StatusCode::OK, pages::landing(onboarding, &invited, &token)),
        Err(refusal) => refusal.page(onboarding),
    })
}

/// Where "Connect your Microsoft 365 tenant" goes: the sign-in and consent round trip starts here
/// (the next step). For now an open invitation gets a 501 page saying so, and stays usable.
#[post("/onboarding/{token}/start")]
pub async fn start_connection(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let onboarding = configured(&state)?;
    Ok(match open_invitation(&state, &token).await {
        Ok(_) => page(onboarding, StatusCode::NOT_IMPLEMENTED, pages::not_yet(onboarding)),
        Err(refusal) => refusal.page(onboarding),
    })
}

/// Why a token leads to no usable invitation.
enum Refusal {
    /// It names none (or is not even shaped like a token).
    Unknown,
    /// Expired, revoked or used.
    Closed(InvitationState),
    /// Postgres cannot be reached.
    Unavailable,
    Broken,
}

impl Refusal {
    /// The page that says so: 404, 410, 503 (with `Retry-After`) or 500.
    fn page(self, onboarding: &Onboarding) -> HttpResponse {
        match self {
            Self::Unknown => page(onboarding, StatusCode::NOT_FOUND, pages::unknown(onboarding)),
            Self::Closed(state) => page(onboarding, StatusCode::GONE, pages::closed(onboarding, state)),
            Self::Unavailable => {
                let mut response =
                    page(onboarding, StatusCode::SERVICE_UNAVAILABLE, pages::unavailable(onboarding));
                let retry = header::HeaderValue::from(RETRY_AFTER.as_secs());
                response.headers_mut().insert(header::RETRY_AFTER, retry);
                response
            }
            Self::Broken => page(onboarding, StatusCode::INTERNAL_SERVER_ERROR, pages::broken(onboarding)),
        }
    }
}

/// The invitation `token` names, when it may still be used.
async fn open_invitation(state: &AppState, token: &str) -> Result<Invited, Refusal> {
    let hash = TokenHash::of_presented(token).ok_or(Refusal::Unknown)?;
    let found = state.registry.guard(Budget::Request, invitations::find_by_token(&state.pool, &hash)).await;
    match found {
        Ok(Some(invited)) if invited.invitation.state.is_open() => Ok(invited),
        Ok(Some(invited)) => Err(Refusal::Closed(invited.invitation.state)),
        Ok(None) => Err(Refusal::Unknown),
        Err(RegistryError::Unavailable) => Err(Refusal::Unavailable),
        Err(error) => {
            tracing::error!(error = %error, error.debug = ?error, "onboarding page failed");
            Err(Refusal::Broken)
        }
    }
}

/// Onboarding's settings, or 503 `not_configured` naming the missing ones.
fn configured(state: &AppState) -> Result<&Onboarding, Problem> {
    state
        .onboarding
        .get()
        .map(|onboarding| &**onboarding)
        .map_err(|missing| Category::NotConfigured.problem(missing))
}

/// A page with the headers every onboarding page carries.
fn page(onboarding: &Onboarding, status: StatusCode, body: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            pages::content_security_policy(&onboarding.authority_origin),
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(body.into_string())
}

/// A request path as the access log may show it: an onboarding token is a credential, so it is
/// replaced by `{token}`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/onboarding/") {
        Some(rest) if !rest.is_empty() => {
            let after_token = rest.find('/').map_or("", |slash| &rest[slash..]);
            Cow::Owned(format!("/onboarding/{{token}}{after_token}"))
        }
        _ => Cow::Borrowed(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_onboarding_token_never_reaches_the_access_log() {
        assert_eq!(loggable_path("/onboarding/abc_DEF-123"), "/onboarding/{token}");
        assert_eq!(loggable_path("/onboarding/abc/start"), "/onboarding/{token}/start");
        assert_eq!(loggable_path("/onboarding/"), "/onboarding/");
        assert_eq!(loggable_path("/admin/v1/tenants"), "/admin/v1/tenants");
    }
}
