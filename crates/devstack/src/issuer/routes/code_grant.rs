//! The authorization-code grant at `POST /{tenant}/oauth2/v2.0/token` (`grant_type=authorization_code`).
//!
//! Client authentication: a client registered with a secret (`register_client`, `POST /dev/clients`,
//! in any tenant: an application's secret does not depend on the tenant signing in) must send it,
//! as `client_secret` (`client_secret_post`) or in HTTP Basic authentication (`client_secret_basic`,
//! both parts form-urlencoded as RFC 6749 §2.3.1 says); any other client id is a public client and
//! must send none (AADSTS90023).
//! PKCE is always required (`code_verifier`, S256). The code is consumed by the first attempt.
//!
//! The answer: a v1 access token shaped like `POST /dev/tokens`' A1 (audience
//! `https://auth.msft.communication.azure.com`, `scp` the granted Teams permissions, `appid` the
//! client), or, for sign-in alone, a Microsoft Graph token (`User.Read`); plus a v2 id token when
//! `openid` was asked for. No refresh token is issued (the dev issuer has no refresh grant).

use std::collections::HashMap;

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Map, Value, json};

use super::{
    EntraError,
    token::{EXPIRES_IN_SECONDS, required},
};
use crate::issuer::{
    DevIssuer, TenantSegment,
    claims::{self, Lifetime, TokenVersion, UserToken},
    clients::ClientCheck,
    codes::{CodeError, Grant},
    jws::{self, Signature},
    mint::DEFAULT_AUDIENCE,
    tenant::parse_guid,
};

/// Microsoft Graph's application id: the audience of tokens for sign-in alone.
const GRAPH_AUDIENCE: &str = "00000003-0000-0000-c000-000000000000";

/// Moves HTTP Basic client credentials into the form as `client_id` and `client_secret`. A
/// `client_id` in the form must then be the same; a secret may come one way only.
pub fn with_basic_credentials(
    request: &HttpRequest,
    mut form: HashMap<String, String>,
) -> Result<HashMap<String, String>, EntraError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(form);
    };
    let malformed = || {
        EntraError::sts(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "The Authorization header does not carry Basic client credentials.",
        )
    };
    let encoded = value.to_str().ok().and_then(|value| value.strip_prefix("Basic ")).ok_or_else(malformed)?;
    let decoded = STANDARD.decode(encoded.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let (id, secret) = decoded.as_deref().and_then(|text| text.split_once(':')).ok_or_else(malformed)?;
    let (id, secret) = (form_decode(id), form_decode(secret));
    if form.get("client_id").is_some_and(|form_id| *form_id != id) {
        return Err(EntraError::invalid_request(
            "The client_id in the body differs from the one in the Authorization header.",
        ));
    }
    if form.get("client_secret").is_some_and(|secret| !secret.is_empty()) {
        return Err(EntraError::invalid_request(
            "The client sent its secret both in the body and in the Authorization header.",
        ));
    }
    form.insert("client_id".to_owned(), id);
    form.insert("client_secret".to_owned(), secret);
    Ok(form)
}

/// `application/x-www-form-urlencoded` decoding of one component (`+` is a space).
fn form_decode(component: &str) -> String {
    let pair = format!("x={component}");
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Redeems a code; `segment` is the token endpoint's `{tenant}`.
pub fn redeem(
    issuer: &DevIssuer,
    segment: TenantSegment,
    form: &HashMap<String, String>,
) -> Result<HttpResponse, EntraError> {
    let client_id = required(form, "client_id")?;
    let client = parse_guid(client_id).ok_or_else(|| {
        EntraError::sts(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!("Application with identifier '{client_id}' was not found in the directory."),
        )
    })?;
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let verifier = required(form, "code_verifier")?;
    authenticate(issuer, client, form.get("client_secret").filter(|secret| !secret.is_empty()))?;

    let grant = issuer.state.codes.redeem(code).map_err(|error| match error {
        CodeError::Unknown => grant_error(70000, "The provided value for the 'code' parameter is not valid."),
        CodeError::Redeemed => grant_error(
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an \
             existing refresh token.",
        ),
        CodeError::Expired => grant_error(
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new \
             interactive authorization request for this user and resource.",
        ),
    })?;
    if grant.client_id != client {
        return Err(grant_error(70000, "The provided authorization code was issued to another application."));
    }
    if segment.tenant_id().is_some_and(|tenant| tenant != grant.user.tenant) {
        return Err(grant_error(
            700005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        ));
    }
    if redirect_uri != grant.redirect_uri {
        return Err(grant_error(
            500112,
            format!(
                "The reply address '{redirect_uri}' does not match the reply address '{}' provided when \
                 requesting Authorization code.",
                grant.redirect_uri
            ),
        ));
    }
    if !grant.verifier_matches(verifier) {
        return Err(grant_error(
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        ));
    }
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(tokens(issuer, &grant)))
}

fn authenticate(issuer: &DevIssuer, client: uuid::Uuid, secret: Option<&String>) -> Result<(), EntraError> {
    let clients = &issuer.state.clients;
    match (secret, clients.is_registered_anywhere(client)) {
        (None, false) => Ok(()),
        (None, true) => Err(EntraError::sts(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
        (Some(_), false) => Err(EntraError::sts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90023,
            "Public clients can't send a client secret.",
        )),
        (Some(secret), true) => match clients.check_anywhere(client, secret) {
            ClientCheck::Authenticated => Ok(()),
            ClientCheck::UnknownClient | ClientCheck::WrongSecret => Err(EntraError::sts(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the \
                     client secret value, not the client secret ID, for a secret added to app '{client}'."
                ),
            )),
        },
    }
}

/// The token response for a redeemed grant.
fn tokens(issuer: &DevIssuer, grant: &Grant) -> Value {
    let now = issuer.state.clock.unix_seconds();
    let lifetime = Lifetime { issued_at: now, expires: now + EXPIRES_IN_SECONDS };
    let key = issuer.state.keys.current();
    let user = &grant.user;

    let (audience, scopes): (&str, Vec<String>) = if grant.scopes.wants_teams() {
        (DEFAULT_AUDIENCE, grant.scopes.teams().iter().map(|scope| (*scope).to_owned()).collect())
    } else {
        let oidc = grant.scopes.oidc().iter().filter(|scope| **scope != "offline_access");
        (GRAPH_AUDIENCE, oidc.map(|scope| (*scope).to_owned()).chain(["User.Read".to_owned()]).collect())
    };
    let token = UserToken {
        tenant: user.tenant,
        oid: user.oid,
        app_id: grant.client_id,
        scopes: &scopes,
        audience,
        version: TokenVersion::V1,
    };
    let mut access = claims::user_token(&token, lifetime);
    let mut names = Map::new();
    names.insert("name".to_owned(), json!(user.name));
    names.insert("upn".to_owned(), json!(user.username));
    names.insert("unique_name".to_owned(), json!(user.username));
    jws::apply_overrides(&mut access, &names);
    let access_token = jws::encode(&jws::entra_header(key.kid(), true), &access, Signature::Rs256(&key));

    let scope = if grant.scopes.wants_teams() { grant.scopes.granted() } else { scopes.join(" ") };
    let mut response = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": EXPIRES_IN_SECONDS,
        "ext_expires_in": EXPIRES_IN_SECONDS,
        "access_token": access_token,
    });
    if grant.scopes.wants_id_token() {
        let id = claims::id_token(user, grant.client_id, grant.nonce.as_deref(), lifetime);
        let id_token = jws::encode(&jws::entra_header(key.kid(), false), &id, Signature::Rs256(&key));
        if let Some(members) = response.as_object_mut() {
            members.insert("id_token".to_owned(), json!(id_token));
        }
    }
    tracing::debug!(tid = %user.tenant, oid = %user.oid, appid = %grant.client_id, kid = key.kid(), "Redeemed an authorization code");
    response
}

fn grant_error(code: u32, message: impl Into<String>) -> EntraError {
    EntraError::sts(StatusCode::BAD_REQUEST, "invalid_grant", code, message)
}
