//! ACS's error contract: `{"error": {"code", "message", "target"?}}` with the status ACS uses.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

use super::refusals::Refusal;

/// One error answer of the emulator. The constructors are the whole vocabulary of codes, so the
/// list in the module docs (`super`) stays true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcsError {
    status: StatusCode,
    code: &'static str,
    message: String,
    target: Option<&'static str>,
    retry_after_seconds: Option<u64>,
}

impl AcsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), target: None, retry_after_seconds: None }
    }

    fn with_target(mut self, target: &'static str) -> Self {
        self.target = Some(target);
        self
    }

    pub(crate) const AUTHENTICATION_CODE: &'static str = "InvalidAuthentication";

    /// The caller's HMAC signature or bearer token failed; `reason` says which check, never a secret.
    pub(crate) fn authentication(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, Self::AUTHENTICATION_CODE, reason)
    }

    /// An Entra token (bearer credential or A1) cannot be checked because the dev issuer's keys
    /// cannot be fetched: the token may well be good, so this is the service's fault, not the caller's.
    pub(crate) fn keys_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable: the Entra signing keys cannot be fetched.",
        )
    }

    /// A body over the emulator's limit.
    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    /// The Entra token inside an exchange request is unusable (ACS's own code and message).
    pub(crate) fn invalid_access_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAccessToken", "Provided access token is not valid.")
    }

    pub(crate) fn validation(target: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message).with_target(target)
    }

    pub(crate) fn malformed_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    pub(crate) fn missing_api_version() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter is required.",
        )
        .with_target("api-version")
    }

    pub(crate) fn unsupported_api_version(version: &str) -> Self {
        let shown: String = version.chars().take(40).collect();
        Self::new(
            StatusCode::BAD_REQUEST,
            "UnsupportedApiVersion",
            format!("The api-version '{shown}' is not supported by this operation."),
        )
        .with_target("api-version")
    }

    pub(crate) fn identity_not_owned() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "IdentityNotOwned",
            "Provided identity doesn't belong to the resource.",
        )
    }

    pub(crate) fn identity_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "IdentityNotFound",
            "Provided identity doesn't exist or was deleted.",
        )
    }

    /// ACS refusing the user (their Teams licence or organisation), not the caller.
    pub(crate) fn refused_user(refusal: Refusal) -> Self {
        Self::new(StatusCode::FORBIDDEN, refusal.code(), refusal.message())
    }

    pub(crate) fn no_refusal() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "No refusal is set for this user.")
    }

    pub(crate) fn throttled(retry_after_seconds: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request rate is too high (injected fault).",
        );
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    pub(crate) fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable (injected fault).",
        )
    }

    pub(crate) fn internal_error() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal error occurred (injected fault).",
        )
    }

    /// A bug in the emulator; the message says nothing more.
    pub(crate) fn unexpected() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "An internal error occurred.")
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFound", "No such operation.")
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "The HTTP method is not allowed here.")
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

impl std::fmt::Display for AcsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
}

impl ResponseError for AcsError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(Body { error: Detail { code: self.code, message: &self.message, target: self.target } })
    }
}
