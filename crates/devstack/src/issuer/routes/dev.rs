//! The test controls: `POST /dev/tokens` and `POST /dev/keys:rotate`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;

use super::EntraError;
use crate::issuer::{DevIssuer, MintError, MintRequest};

/// `POST /dev/tokens` with a [`MintRequest`] → `{"token": "..."}`.
pub async fn mint(issuer: web::Data<DevIssuer>, body: web::Bytes) -> Result<HttpResponse, EntraError> {
    let mint_request: MintRequest = parse_json(&body)?;
    let issuer = issuer.into_inner();
    // Signing is quick, but the first mint of an odd signing mode generates an RSA key: keep it off
    // the executor.
    let token = web::block(move || issuer.mint(&mint_request))
        .await
        .map_err(|error| EntraError::internal(&error))?
        .map_err(|error| match error {
            MintError::InvalidField { .. } => EntraError::invalid_request(error.to_string()),
            MintError::Key(cause) => EntraError::internal(&format!("{cause:#}")),
        })?;
    Ok(HttpResponse::Ok().json(json!({ "token": token })))
}

/// The optional body of `POST /dev/keys:rotate`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateRequest {
    /// Unpublish every older key, so tokens signed before the rotation stop verifying.
    #[serde(default)]
    retire_old: bool,
}

/// `POST /dev/keys:rotate` → `{"kid": "<new kid>", "published": [kids, newest first]}`.
pub async fn rotate(issuer: web::Data<DevIssuer>, body: web::Bytes) -> Result<HttpResponse, EntraError> {
    let rotate_request = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest::default()
    } else {
        parse_json::<RotateRequest>(&body)?
    };
    let issuer = issuer.into_inner();
    let (kid, published) = web::block(move || issuer.rotate_and_list(rotate_request.retire_old))
        .await
        .map_err(|error| EntraError::internal(&error))?
        .map_err(|error| EntraError::internal(&format!("{error:#}")))?;
    Ok(HttpResponse::Ok().json(json!({ "kid": kid, "published": published })))
}

/// Parses a JSON body, naming the offending member in the error (`` `version`: unknown variant ``);
/// errors about the whole object (missing or unknown members) already name the member.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, EntraError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            EntraError::invalid_request(inner.to_string())
        } else {
            EntraError::invalid_request(format!("`{path}`: {inner}"))
        }
    })?;
    deserializer.end().map_err(|error| EntraError::invalid_request(error.to_string()))?;
    Ok(value)
}
