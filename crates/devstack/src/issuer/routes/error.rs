//! Errors in Entra's OAuth error shape: `{"error", "error_description"}`, plus for the STS endpoints
//! the `error_codes`, `timestamp`, `trace_id` and `correlation_id` members Entra adds, so clients'
//! error parsing meets the real shape.

use actix_web::{
    HttpResponse, ResponseError,
    http::{Method, StatusCode},
};
use serde_json::json;
use uuid::Uuid;

/// One error response. `Display` is `error: description` for logs.
#[derive(Debug, thiserror::Error)]
#[error("{error}: {description}")]
pub struct EntraError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// The AADSTS number, for errors Entra's token service itself would return.
    code: Option<u32>,
}

impl EntraError {
    /// A 400 from a `/dev/*` route (no AADSTS number: real Entra has no such routes).
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
            code: None,
        }
    }

    /// A 409 from a `/dev/*` route: what the request would create exists already.
    pub fn conflict(description: impl Into<String>) -> Self {
        Self { status: StatusCode::CONFLICT, error: "conflict", description: description.into(), code: None }
    }

    /// An error Entra's STS returns, with its AADSTS number.
    pub fn sts(status: StatusCode, error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self { status, error, description: message.into(), code: Some(code) }
    }

    /// AADSTS90002 for a `{tenant}` segment that is neither a GUID nor `organizations`/`common`.
    pub fn unknown_tenant(segment: &str) -> Self {
        Self::sts(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are \
                 signing into the correct cloud. The dev issuer serves GUID tenants, 'organizations' and \
                 'common' only."
            ),
        )
    }

    /// AADSTS900144: a required form parameter is missing.
    pub fn missing_parameter(name: &str) -> Self {
        Self::sts(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub fn not_found(method: &Method, path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            error: "not_found",
            description: format!("The dev Entra issuer has no route for {method} {path}."),
            code: None,
        }
    }

    pub fn method_not_allowed(method: &Method, path: &str) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            error: "method_not_allowed",
            description: format!("{path} does not accept {method}."),
            code: None,
        }
    }

    /// A 500 that says nothing about the cause; the cause goes to the log.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error.cause_chain = %cause, "Dev issuer request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "The dev issuer failed to handle the request.".to_owned(),
            code: None,
        }
    }
}

impl ResponseError for EntraError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let Some(code) = self.code else {
            return HttpResponse::build(self.status)
                .json(json!({"error": self.error, "error_description": self.description}));
        };
        let described = AadstsDescription::new(code, &self.description);
        HttpResponse::build(self.status).json(json!({
            "error": self.error,
            "error_description": described.text,
            "error_codes": [code],
            "timestamp": described.timestamp,
            "trace_id": described.trace_id,
            "correlation_id": described.correlation_id,
        }))
    }
}

/// An STS error description as Entra writes it: `AADSTS{code}: {message}`, then the trace id,
/// correlation id and time on their own CRLF-separated lines (in JSON bodies and in redirects).
pub struct AadstsDescription {
    pub text: String,
    pub timestamp: String,
    pub trace_id: Uuid,
    pub correlation_id: Uuid,
}

impl AadstsDescription {
    pub fn new(code: u32, message: &str) -> Self {
        let timestamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
        let (trace_id, correlation_id) = (Uuid::new_v4(), Uuid::new_v4());
        let text = format!(
            "AADSTS{code}: {message}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\n\
             Timestamp: {timestamp}"
        );
        Self { text, timestamp, trace_id, correlation_id }
    }
}
