use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use registry::RegistryError;

use crate::problem::{FieldError, Problem};

/// Every way an admin request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("tenant not found")]
    NotFound,
    #[error("a tenant with this slug already exists")]
    Conflict,
    #[error("If-Match is required for this change")]
    PreconditionRequired,
    #[error("tenant is at version {current}; If-Match does not match")]
    PreconditionFailed { current: i64 },
    /// Postgres cannot be reached. Every write is one transaction, so none is half-done.
    #[error("the tenant registry (Postgres) is unreachable; try again shortly")]
    RegistryUnavailable,
    #[error("unexpected error")]
    Unexpected,
    #[error(transparent)]
    Registry(RegistryError),
}

impl From<RegistryError> for AdminError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::NotFound => Self::NotFound,
            RegistryError::SlugTaken => Self::Conflict,
            RegistryError::VersionMismatch { current, .. } => Self::PreconditionFailed { current },
            RegistryError::Unavailable => Self::RegistryUnavailable,
            other => Self::Registry(other),
        }
    }
}

impl AdminError {
    fn problem(&self) -> Problem {
        match self {
            Self::Unauthorized(detail) => Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", *detail),
            Self::InvalidRequest(detail) => Problem::invalid_request(detail.clone()),
            Self::Validation(errors) => Problem::validation_failed(errors.clone()),
            Self::NotFound => Problem::not_found(self.to_string()),
            Self::Conflict => Problem::new(StatusCode::CONFLICT, "conflict", self.to_string()),
            Self::PreconditionRequired => {
                Problem::new(StatusCode::PRECONDITION_REQUIRED, "precondition_required", self.to_string())
            }
            Self::PreconditionFailed { .. } => {
                Problem::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", self.to_string())
            }
            Self::RegistryUnavailable => Problem {
                retry_after: Some(registry::health::RETRY_AFTER.as_secs()),
                ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable", self.to_string())
            },
            Self::Unexpected | Self::Registry(_) => Problem::internal(),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.problem().status
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Registry(error) = self {
            // Sealing errors say which key is missing: operators need that, clients do not.
            tracing::error!(error = %error, error.debug = ?error, "admin request failed");
        }
        self.problem().error_response()
    }
}
