//! The exchange endpoints for end-user apps: `POST /v1/tenants/{tenant}/token/teams` and the
//! drop-in for the ACS hero sample, `GET /api/token/teams`.

use actix_web::{HttpRequest, HttpResponse, get, http::header, post, web};
use chrono::SecondsFormat;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    category::{Category, ClientFault, TenantFault},
    exchange::{ExchangeError, ExchangeInput, Exchanged},
    observability::{ExchangeRecord, UNKNOWN_TENANT, tenant_label},
    state::AppState,
    tenant::TenantContext,
};

/// The exchange's 403 codes, as the OpenAPI description lists them.
const FORBIDDEN_CODES: &str = "Refused for this user or tenant: `insufficient_scope`, `user_mismatch`, \
    `app_not_allowed`, `tenant_not_allowed`, `tenant_suspended`, `tenant_not_connected` (a pending tenant), \
    or `teams_license_missing` (ACS refused the user: no Teams licence, or Teams turned off for them by \
    their organisation).";

/// ACS's own exchange body: A1, A3 and A2.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeBody {
    /// The Teams user's Entra access token for ACS (A1).
    token: String,
    /// The client app id (A3), checked against the token's `appid`/`azp`.
    #[schema(example = "11111111-2222-3333-4444-555555555555", format = Uuid)]
    app_id: String,
    /// The user's object id (A2), checked against the token's `oid`.
    #[schema(example = "d3e0d3e0-0000-4000-8000-00000000ace1", format = Uuid)]
    user_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamsUser {
    microsoft_teams_user_id: String,
    raw_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeResponse {
    /// The ACS access token (D).
    token: String,
    expires_on: String,
    user: TeamsUser,
    /// The Entra tenant id of the user.
    tenant_id: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeroResponse {
    token: String,
    expires_on: String,
}

/// Counts a finished exchange in metrics and statistics. Requests that never named an existing tenant
/// count under one `_unknown` tenant, so invented slugs cannot grow the series.
async fn observe(
    state: &AppState,
    tenant: &TenantContext,
    result: &Result<Exchanged, ExchangeError>,
    started: std::time::Instant,
) {
    let (outcome, cache_hit) = match result {
        Ok(exchanged) => ("ok", exchanged.cache_hit),
        Err(error) => (error.code(), false),
    };
    let tenant = tenant_label(tenant, result).await;
    let record = ExchangeRecord { tenant, outcome, duration: started.elapsed(), cache_hit };
    state.metrics.exchange(&record);
    if let Err(error) = result
        && let Some(reason) = error.token_rejection_reason()
    {
        state.metrics.token_rejection(tenant, reason);
    }
    match result.as_ref().err().map(ExchangeError::category) {
        Some(Category::Client(ClientFault::OverLimit { .. })) => state.metrics.rate_limited(tenant),
        Some(Category::Tenant(TenantFault::Credential)) => state.metrics.credential_rejected(tenant),
        _ => {}
    }
    if tenant != UNKNOWN_TENANT {
        state.stats.exchange(&record);
    }
}

fn bearer(request: &HttpRequest) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then_some(token)
}

fn guid(field: &str, value: &str) -> Result<Uuid, ExchangeError> {
    registry::domain::Guid::parse(value)
        .map(|g| g.as_uuid())
        .map_err(|_| ExchangeError::InvalidRequest(format!("{field} is not a GUID")))
}

fn no_store(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    response
}

fn expires_on(exchanged: &Exchanged) -> String {
    exchanged.expires_on.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Exchange a Teams user's Entra token (A1) for an ACS token (D).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/token/teams", tag = "exchange", request_body = ExchangeBody,
    params(("tenant" = String, Path, description = "the tenant's slug")),
    security((), ("artifactB" = [])),
    responses((status = 200, body = ExchangeResponse), (status = 403, description = FORBIDDEN_CODES, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[post("/v1/tenants/{tenant}/token/teams")]
pub async fn exchange_teams_token(
    state: web::Data<AppState>,
    request: HttpRequest,
    tenant: TenantContext,
    body: web::Bytes,
) -> Result<HttpResponse, ExchangeError> {
    let started = std::time::Instant::now();
    let result = exchange_body(&state, &request, &tenant, &body).await;
    observe(&state, &tenant, &result, started).await;
    let exchanged = result?;
    Ok(no_store(HttpResponse::Ok()).json(ExchangeResponse {
        token: exchanged.token.expose_secret().to_owned(),
        expires_on: expires_on(&exchanged),
        user: TeamsUser {
            microsoft_teams_user_id: exchanged.oid.to_string(),
            raw_id: format!("8:orgid:{}", exchanged.oid),
        },
        tenant_id: exchanged.tid.to_string(),
    }))
}

async fn exchange_body(
    state: &AppState,
    request: &HttpRequest,
    tenant: &TenantContext,
    body: &[u8],
) -> Result<Exchanged, ExchangeError> {
    let body: ExchangeBody = serde_json::from_slice(body).map_err(|e| {
        let detail = match e.classify() {
            serde_json::error::Category::Data => format!("body does not fit {{token, appId, userId}}: {e}"),
            _ => "body is not valid JSON".to_owned(),
        };
        ExchangeError::InvalidRequest(detail)
    })?;
    let (app_id, user_id) = (guid("appId", &body.app_id)?, guid("userId", &body.user_id)?);
    if body.token.is_empty() {
        return Err(ExchangeError::InvalidRequest("token is empty".into()));
    }
    let runtime = tenant.runtime().await?;
    let input = ExchangeInput {
        a1: &body.token,
        app_id: Some(app_id),
        user_id: Some(user_id),
        bearer: bearer(request),
    };
    state.exchanger.exchange(&runtime, &input).await
}

/// Drop-in for the ACS authentication hero sample: A1 in `teams-user-aad-token`, the tenant in
/// `X-Tenant`; the user and app come from the validated A1.
#[utoipa::path(get, path = "/api/token/teams", tag = "exchange",
    params(("teams-user-aad-token" = String, Header, description = "A1"), ("X-Tenant" = String, Header, description = "the tenant's slug")),
    security((), ("artifactB" = [])),
    responses((status = 201, body = HeroResponse), (status = 403, description = FORBIDDEN_CODES, body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "4XX", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = "5XX", body = crate::problem::ProblemBody, content_type = "application/problem+json")))]
#[get("/api/token/teams")]
pub async fn hero_teams_token(
    state: web::Data<AppState>,
    request: HttpRequest,
    tenant: TenantContext,
) -> Result<HttpResponse, ExchangeError> {
    let started = std::time::Instant::now();
    let result = hero_exchange(&state, &request, &tenant).await;
    observe(&state, &tenant, &result, started).await;
    let exchanged = result?;
    Ok(no_store(HttpResponse::Created()).json(HeroResponse {
        token: exchanged.token.expose_secret().to_owned(),
        expires_on: expires_on(&exchanged),
    }))
}

async fn hero_exchange(
    state: &AppState,
    request: &HttpRequest,
    tenant: &TenantContext,
) -> Result<Exchanged, ExchangeError> {
    let header_value = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let a1 = match (tenant.given(), header_value("teams-user-aad-token").filter(|t| !t.is_empty())) {
        ("", _) => return Err(ExchangeError::InvalidRequest("X-Tenant header is required".into())),
        (_, None) => {
            return Err(ExchangeError::InvalidRequest("teams-user-aad-token header is required".into()));
        }
        (_, Some(a1)) => a1,
    };
    let runtime = tenant.runtime().await?;
    let input = ExchangeInput { a1, app_id: None, user_id: None, bearer: bearer(request) };
    state.exchanger.exchange(&runtime, &input).await
}
