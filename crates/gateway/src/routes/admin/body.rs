//! Reading JSON request bodies: malformed JSON is a 400, a body that does not fit the schema is a 422
//! whose field is a JSON pointer.

use actix_web::{HttpRequest, http::header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AdminError;
use crate::problem::FieldError;

pub fn parse_body<T: DeserializeOwned>(request: &HttpRequest, body: &[u8]) -> Result<T, AdminError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if content_type.is_some_and(|ct| !ct.contains("json")) {
        return Err(AdminError::InvalidRequest("Content-Type must be application/json".into()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| AdminError::InvalidRequest(format!("body is not valid JSON: {e}")))?;
    from_value(value)
}

/// Deserialises with the path of the first failure as a JSON pointer.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, AdminError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let mut pointer: String = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => Some(format!("/{key}")),
                serde_path_to_error::Segment::Enum { variant } => Some(format!("/{variant}")),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = error.inner().to_string();
        // serde names the missing or unknown field in its message; point at the field itself.
        let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').next());
        let message = if let Some(field) = named("missing field `") {
            pointer.push_str(&format!("/{field}"));
            "is required".to_owned()
        } else if named("unknown field `").is_some() {
            // The path already ends at the unknown key.
            "is not a known field".to_owned()
        } else {
            message
        };
        validation(&pointer, &message)
    })
}

pub fn validation(field: &str, message: &str) -> AdminError {
    AdminError::Validation(vec![FieldError { field: field.to_owned(), message: message.to_owned() }])
}
