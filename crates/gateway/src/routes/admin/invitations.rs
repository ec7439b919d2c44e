//! `/admin/v1/tenants/{slug}/invitations`: create (the link is in that answer only), list (states,
//! never a link), revoke. Owners and operators create and revoke; every role may list the
//! invitations of the tenants it may read. Without onboarding's settings, every route answers 503
//! `not_configured` naming what is missing.

use actix_web::{HttpRequest, HttpResponse, delete, get, http::header, post, web};
use chrono::{DateTime, Utc};
use registry::{
    RegistryError,
    domain::TenantSlug,
    health::Budget,
    invitations::{self, Invitation, InvitationState, Revocation},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    AdminError,
    actor::AdminActor,
    body::{parse_body, validation},
    permission::{Caller, Permission},
    tenant::AdminTenant,
};
use crate::{settings::Onboarding, state::AppState};

type Response = Result<HttpResponse, AdminError>;

/// An invitation to create; the body may be left out.
#[derive(Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInvitationRequest {
    /// When the link stops working (RFC 3339): in the future and at most 30 days away; in 7 days
    /// when absent.
    #[serde(default)]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

/// Where an invitation stands. `pending`, `consent_denied` and `service_principal_missing` may still
/// be used until they expire; `expired` is read from `expiresAt`, never stored.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStateName {
    Pending,
    ConsentDenied,
    ServicePrincipalMissing,
    Connected,
    Expired,
    Revoked,
}

impl From<InvitationState> for InvitationStateName {
    fn from(state: InvitationState) -> Self {
        match state {
            InvitationState::Pending => Self::Pending,
            InvitationState::ConsentDenied => Self::ConsentDenied,
            InvitationState::ServicePrincipalMissing => Self::ServicePrincipalMissing,
            InvitationState::Connected => Self::Connected,
            InvitationState::Expired => Self::Expired,
            InvitationState::Revoked => Self::Revoked,
        }
    }
}

/// An invitation just created: the only answer that carries its link.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvitation {
    id: Uuid,
    /// The link for the customer's admin, shown this once: only a hash of its token is stored.
    url: String,
    expires_at: DateTime<Utc>,
    state: InvitationStateName,
}

/// The customer's admin who connected the tenant.
#[derive(Serialize, ToSchema)]
pub struct ConnectedBy {
    /// Their Entra object id.
    oid: Uuid,
    /// Their display name, when Entra gave one.
    name: Option<String>,
}

/// An invitation as listed: never its link.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    id: Uuid,
    state: InvitationStateName,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The admin key that created it.
    created_by: String,
    /// When it was used.
    consumed_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    /// The Microsoft 365 (Entra) tenant it connected.
    connected_tenant_id: Option<String>,
    connected_by: Option<ConnectedBy>,
    /// What the last failed attempt found, in plain words.
    last_error: Option<String>,
}

impl From<&Invitation> for InvitationView {
    fn from(invitation: &Invitation) -> Self {
        Self {
            id: invitation.id,
            state: invitation.state.into(),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
            created_by: invitation.created_by.clone(),
            consumed_at: invitation.consumed_at,
            revoked_at: invitation.revoked_at,
            connected_tenant_id: invitation.connected_tid.map(|tid| tid.to_string()),
            connected_by: invitation
                .connected_by
                .as_ref()
                .map(|admin| ConnectedBy { oid: admin.oid, name: admin.name.clone() }),
            last_error: invitation.last_error.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    /// Newest first (at most 500).
    items: Vec<InvitationView>,
}

/// Create a "connect your Microsoft 365 tenant" link for the tenant's customer: single use, expiring
/// (7 days by default, 30 at most). The tenant's `entra.allowedAppIds` must hold the onboarding app
/// (`ACSGW_ONBOARDING_CLIENT_ID`), else 409. Owners and operators only.
#[utoipa::path(post, path = "/admin/v1/tenants/{slug}/invitations", tag = "admin",
    params(("slug" = String, Path, description = "the tenant's slug")),
    request_body(content = CreateInvitationRequest, description = "may be left out"),
    security(("adminKey" = [])),
    responses((status = 201, body = CreatedInvitation), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", description = "`not_configured` without onboarding's settings", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[post("/tenants/{slug}/invitations")]
pub async fn create_invitation(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
    tenant: AdminTenant,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    caller.require(Permission::ManageInvitations(tenant.slug()))?;
    let onboarding = configured(&state)?;
    let requested =
        if body.is_empty() { CreateInvitationRequest::default() } else { parse_body(&request, &body)? };
    let expires_at = expires_at(requested.expires_at.as_deref(), Utc::now())?;
    let current = tenant.current().await?;
    if !current.entra.allows_app(&onboarding.client_id) {
        return Err(AdminError::StateConflict(format!(
            "the tenant's entra.allowedAppIds must include the onboarding app {} \
             (ACSGW_ONBOARDING_CLIENT_ID): its customer consents to that app, and the connection is \
             verified with a token issued to it",
            onboarding.client_id
        )));
    }
    let create = invitations::create(&state.pool, (current.id, &current.slug), expires_at, &actor);
    let (invitation, token) = state.registry.guard(Budget::Request, create).await?;
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(CreatedInvitation {
        id: invitation.id,
        url: onboarding.invitation_url(token.expose_secret()),
        expires_at: invitation.expires_at,
        state: invitation.state.into(),
    }))
}

/// List the tenant's invitations with their states, newest first; never their links. Every role
/// that may read the tenant.
#[utoipa::path(get, path = "/admin/v1/tenants/{slug}/invitations", tag = "admin",
    params(("slug" = String, Path, description = "the tenant's slug")), security(("adminKey" = [])),
    responses((status = 200, body = InvitationList), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", description = "`not_configured` without onboarding's settings", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/tenants/{slug}/invitations")]
pub async fn list_invitations(state: web::Data<AppState>, tenant: AdminTenant, caller: Caller) -> Response {
    caller.require(Permission::ReadInvitations(tenant.slug()))?;
    configured(&state)?;
    let current = tenant.current().await?;
    let items = state.registry.guard(Budget::Request, invitations::list(&state.pool, current.id)).await?;
    Ok(HttpResponse::Ok().json(InvitationList { items: items.iter().map(InvitationView::from).collect() }))
}

/// Revoke an invitation: its link answers 410 from now on. Revoking a revoked one answers 204 again;
/// a used one (the tenant is connected) is 409. Owners and operators only.
#[utoipa::path(delete, path = "/admin/v1/tenants/{slug}/invitations/{id}", tag = "admin",
    params(("slug" = String, Path, description = "the tenant's slug"), ("id" = String, Path, description = "the invitation's id")),
    security(("adminKey" = [])),
    responses((status = 204), (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", description = "`not_configured` without onboarding's settings", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[delete("/tenants/{slug}/invitations/{id}")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    actor: AdminActor,
    caller: Caller,
) -> Response {
    let (slug, id) = path.into_inner();
    // A slug that cannot exist names no tenant.
    let slug = TenantSlug::parse(&slug).map_err(|_| AdminError::NotFound)?;
    caller.require(Permission::ManageInvitations(&slug))?;
    configured(&state)?;
    let tenant = state.tenants.get(&slug).await?.ok_or(AdminError::NotFound)?;
    let id = Uuid::try_parse(&id).map_err(|_| AdminError::InvitationNotFound)?;
    let revoke = invitations::revoke(&state.pool, (tenant.id, &tenant.slug), id, &actor);
    let revoked = state.registry.guard(Budget::Request, revoke).await.map_err(|error| match error {
        RegistryError::NotFound => AdminError::InvitationNotFound,
        other => other.into(),
    })?;
    match revoked {
        Revocation::Revoked | Revocation::AlreadyRevoked => Ok(HttpResponse::NoContent().finish()),
        Revocation::AlreadyConnected => Err(AdminError::StateConflict(
            "this invitation was used and the tenant is connected; revoking it would undo nothing \
             (suspend the tenant, or change its entra settings, instead)"
                .into(),
        )),
    }
}

/// Onboarding's settings, or 503 `not_configured` naming the missing ones.
fn configured(state: &AppState) -> Result<&Onboarding, AdminError> {
    state.onboarding.get().map(|onboarding| onboarding.as_ref()).map_err(AdminError::NotConfigured)
}

/// When a new invitation expires: `requested` (RFC 3339) within the rules, or the default.
fn expires_at(requested: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, AdminError> {
    let requested = match requested.map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(at)) => Some(at.with_timezone(&Utc)),
        Some(Err(_)) => {
            return Err(validation("/expiresAt", "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z"));
        }
    };
    invitations::expiry(requested, now).map_err(|e| validation("/expiresAt", &e.to_string()))
}
