//! `POST /teamsUser/:exchangeAccessToken`: an Entra token of a Teams user for an ACS token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    a1::{self, ClaimedIds},
    api_version::{ApiVersion, Operation},
    auth, body,
    error::AcsError,
    state::Shared,
    stats::Event,
};

/// `TeamsUserExchangeTokenRequest`; absent fields read as empty, which ACS treats like invalid ones.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeBody {
    #[serde(default)]
    token: String,
    #[serde(default)]
    app_id: String,
    #[serde(default)]
    user_id: String,
}

pub(crate) async fn exchange(
    req: HttpRequest,
    body::Body(body): body::Body,
    shared: web::Data<Shared>,
) -> Result<HttpResponse, AcsError> {
    let outcome = run(&req, &body, &shared).await;
    match &outcome {
        Ok(_) => shared.counters.record(Event::Exchange),
        Err(error) if error.code() == "InvalidAccessToken" => {
            shared.counters.record(Event::InvalidAccessToken);
        }
        Err(_) => {}
    }
    outcome
}

async fn run(req: &HttpRequest, body: &[u8], shared: &Shared) -> Result<HttpResponse, AcsError> {
    auth::authenticate(shared, req, body).await?;
    let version = ApiVersion::of(req, Operation::Exchange)?;
    let (token, claimed) = parse(body, version)?;
    let user = a1::validate(&shared.keys, &token, claimed).await?;
    if let Some(refusal) = shared.refusals.of(user.oid) {
        shared.counters.record(Event::UserRefusal);
        return Err(AcsError::refused_user(refusal));
    }
    let issued = shared.tokens.teams_user(user.oid, user.expires_at)?;
    Ok(HttpResponse::Ok().json(issued))
}

/// The body as the token plus parsed ids, checking the ids' format the way ACS reports it.
fn parse(body: &[u8], version: ApiVersion) -> Result<(String, ClaimedIds), AcsError> {
    let body: ExchangeBody = serde_json::from_slice(body).map_err(|_| {
        AcsError::malformed_body("The request body must be a JSON object with string fields.")
    })?;
    if !version.exchange_requires_ids() {
        return Ok((body.token, ClaimedIds { app_id: None, user_id: None }));
    }
    let app_id = Uuid::parse_str(&body.app_id)
        .map_err(|_| AcsError::validation("appId", "Provided AppId has invalid format."))?;
    let user_id = Uuid::parse_str(&body.user_id)
        .map_err(|_| AcsError::validation("userId", "Provided UserId has invalid format."))?;
    Ok((body.token, ClaimedIds { app_id: Some(app_id), user_id: Some(user_id) }))
}
