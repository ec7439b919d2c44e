//! The communication identity operations: create, issue token, revoke tokens, delete.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{
    acs_token::IssuedToken,
    api_version::{ApiVersion, Operation},
    auth, body,
    error::AcsError,
    identities::{identity_id, parse_identity},
    state::Shared,
    stats::Event,
};

const MINUTES: std::ops::RangeInclusive<u32> = 60..=1440;
const DEFAULT_MINUTES: u32 = 1440;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    #[serde(default)]
    create_token_with_scopes: Vec<String>,
    expires_in_minutes: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueBody {
    scopes: Option<Vec<String>>,
    expires_in_minutes: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    identity: IdentityBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<IssuedToken>,
}

#[derive(Serialize)]
struct IdentityBody {
    id: String,
}

/// `POST /identities`, body optional.
pub(crate) async fn create(
    req: HttpRequest,
    body::Body(body): body::Body,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, AcsError> {
    auth::authenticate(&shared, &req, &body).await?;
    let version = ApiVersion::of(&req, Operation::CreateIdentity)?;
    let request: CreateBody = if body.is_empty() { CreateBody::default() } else { json(&body)? };
    let scopes = request.create_token_with_scopes;
    check_scopes(&scopes, version)?;
    let minutes = minutes(request.expires_in_minutes)?;
    let identity = shared.identities.create();
    let access_token =
        if scopes.is_empty() { None } else { Some(shared.tokens.identity(identity, &scopes, minutes)?) };
    shared.counters.record(Event::CreateIdentity);
    let id = identity_id(shared.resource_id, identity);
    Ok(HttpResponse::Created().json(Created { identity: IdentityBody { id }, access_token }))
}

/// `POST /identities/{id}/:issueAccessToken`.
pub(crate) async fn issue_token(
    req: HttpRequest,
    id: web::Path<String>,
    body::Body(body): body::Body,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, AcsError> {
    auth::authenticate(&shared, &req, &body).await?;
    let version = ApiVersion::of(&req, Operation::IssueToken)?;
    let identity = parse_identity(&id, shared.resource_id)?;
    let request: IssueBody = json(&body)?;
    let scopes = request.scopes.unwrap_or_default();
    if scopes.is_empty() {
        return Err(AcsError::validation("scopes", "At least one scope is required."));
    }
    check_scopes(&scopes, version)?;
    let minutes = minutes(request.expires_in_minutes)?;
    shared.identities.require_active(identity)?;
    let issued = shared.tokens.identity(identity, &scopes, minutes)?;
    shared.counters.record(Event::IssueToken);
    Ok(HttpResponse::Ok().json(issued))
}

/// `POST /identities/{id}/:revokeAccessTokens`, no body.
pub(crate) async fn revoke(
    req: HttpRequest,
    id: web::Path<String>,
    body::Body(body): body::Body,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, AcsError> {
    auth::authenticate(&shared, &req, &body).await?;
    ApiVersion::of(&req, Operation::Revoke)?;
    let identity = parse_identity(&id, shared.resource_id)?;
    shared.identities.revoke(identity)?;
    shared.counters.record(Event::Revoke);
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /identities/{id}`.
pub(crate) async fn delete(
    req: HttpRequest,
    id: web::Path<String>,
    body::Body(body): body::Body,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, AcsError> {
    auth::authenticate(&shared, &req, &body).await?;
    ApiVersion::of(&req, Operation::Delete)?;
    let identity = parse_identity(&id, shared.resource_id)?;
    shared.identities.delete(identity)?;
    shared.counters.record(Event::Delete);
    Ok(HttpResponse::NoContent().finish())
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, AcsError> {
    serde_json::from_slice(body)
        .map_err(|_| AcsError::malformed_body("The request body is not valid JSON for this operation."))
}

/// The scopes of the version's enum; the join scopes only from 2023-10-01 on.
fn check_scopes(scopes: &[String], version: ApiVersion) -> Result<(), AcsError> {
    let known = |scope: &str| match scope {
        "chat" | "voip" => true,
        "chat.join" | "chat.join.limited" | "voip.join" => version.has_join_scopes(),
        _ => false,
    };
    match scopes.iter().find(|scope| !known(scope)) {
        Some(scope) => {
            let shown: String = scope.chars().take(40).collect();
            Err(AcsError::validation(
                "scopes",
                format!("Scope '{shown}' is not supported in this api-version."),
            ))
        }
        None => Ok(()),
    }
}

fn minutes(requested: Option<u32>) -> Result<u32, AcsError> {
    match requested {
        None => Ok(DEFAULT_MINUTES),
        Some(minutes) if MINUTES.contains(&minutes) => Ok(minutes),
        Some(_) => {
            Err(AcsError::validation("expiresInMinutes", "expiresInMinutes must be between 60 and 1440."))
        }
    }
}
