//! The raw body of an Identity request, read up to [`MAX_BODY_BYTES`]. A larger body is refused
//! with 413 in ACS's error shape, not actix's plain-text one (`PayloadConfig` has no error handler,
//! so the limit is enforced here).

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::StatusCode, web};

use super::error::AcsError;

/// Bodies larger than this are refused with 413 before any handler runs.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

pub(crate) struct Body(pub(crate) web::Bytes);

impl FromRequest for Body {
    type Error = AcsError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AcsError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The global `PayloadConfig` sets the same limit; the bytes extractor enforces it.
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            bytes.await.map(Body).map_err(|error| {
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    AcsError::payload_too_large(MAX_BODY_BYTES)
                } else {
                    AcsError::malformed_body(format!("The request body could not be read: {error}"))
                }
            })
        })
    }
}

/// Used where actix's own extractors fail on an oversized body (the `/dev` JSON routes).
pub(crate) fn payload_too_large() -> actix_web::Error {
    AcsError::payload_too_large(MAX_BODY_BYTES).into()
}
