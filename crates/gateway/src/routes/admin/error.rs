use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use registry::RegistryError;

use tracing::Level;

use crate::{
    category::{Category, ClientFault, Outage},
    problem::{FieldError, Problem},
};

/// Every way an admin request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A valid admin key whose role does not allow the call; the detail says what was refused.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("tenant not found")]
    NotFound,
    #[error("admin key not found")]
    AdminKeyNotFound,
    #[error("invitation not found")]
    InvitationNotFound,
    #[error("a tenant with this slug already exists")]
    Conflict,
    /// The resource's state does not allow the call; the detail says why and what would.
    #[error("{0}")]
    StateConflict(String),
    /// A feature whose settings this gateway lacks; the detail names them.
    #[error("{0}")]
    NotConfigured(String),
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
    /// Whose problem this is.
    pub fn category(&self) -> Category {
        match self {
            Self::Unauthorized(_) => Category::Client(ClientFault::Unauthenticated),
            Self::InvalidRequest(_) => Category::Client(ClientFault::Input),
            Self::Validation(_) => Category::Client(ClientFault::Validation),
            Self::Forbidden(_) => Category::Client(ClientFault::Forbidden),
            Self::NotFound | Self::AdminKeyNotFound | Self::InvitationNotFound => {
                Category::Client(ClientFault::NotFound)
            }
            Self::Conflict | Self::StateConflict(_) => Category::Client(ClientFault::Conflict),
            Self::NotConfigured(_) => Category::NotConfigured,
            Self::PreconditionRequired => Category::Client(ClientFault::PreconditionRequired),
            Self::PreconditionFailed { .. } => Category::Client(ClientFault::PreconditionFailed),
            Self::RegistryUnavailable => Category::Upstream {
                outage: Outage::Unavailable,
                retry_after: Some(registry::health::RETRY_AFTER.as_secs()),
            },
            Self::Unexpected | Self::Registry(_) => Category::Bug,
        }
    }

    fn problem(&self) -> Problem {
        match self {
            Self::Validation(errors) => {
                Problem { errors: errors.clone(), ..self.category().problem(FieldError::summary(errors)) }
            }
            other => other.category().problem(other.to_string()),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.category().status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.category().log_level() == Level::ERROR {
            // Sealing errors say which key is missing: operators need that, clients do not.
            tracing::error!(error = %self, error.debug = ?self, "admin request failed");
        }
        self.problem().error_response()
    }
}
