//! The middleware around every Identity route, run after routing and before authentication:
//! counting, injected latency and faults, and the response headers ACS always sends.

use std::time::Duration;

use actix_web::{
    Error, HttpResponse, ResponseError as _,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        StatusCode,
        header::{HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use base64::{Engine as _, engine::general_purpose::STANDARD_NO_PAD};

use super::{
    api_version::Operation, connection, error::AcsError, faults::Fault, state::Shared, stats::Event,
};

const CLIENT_REQUEST_ID: &str = "x-ms-client-request-id";

pub(crate) async fn identity_pipeline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let (Some(shared), Some(operation)) =
        (req.app_data::<web::Data<Shared>>().cloned(), req.match_name().and_then(Operation::from_name))
    else {
        // Only reachable if a route was registered without its operation's name.
        return Ok(req.error_response(AcsError::not_found()));
    };
    shared.counters.record(Event::Request);
    if operation == Operation::Exchange {
        shared.counters.record(Event::ExchangeAttempt);
    }
    let client_request_id = req.headers().get(CLIENT_REQUEST_ID).cloned();

    let faults = shared.faults();
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let mut response = match faults.draw() {
        None => {
            let response = next.call(req).await?.map_into_boxed_body();
            if response.status() == StatusCode::BAD_REQUEST {
                shared.counters.record(Event::BadRequest);
            }
            response
        }
        Some(fault) => {
            // Counted first: after a reset the client may ask for stats before this task resumes.
            shared.counters.record(match fault {
                Fault::Throttle => Event::Throttled,
                Fault::ServiceUnavailable | Fault::InternalError => Event::ServerError,
                Fault::Reset => Event::Reset,
            });
            let response = injected(&req, fault, faults.retry_after_seconds);
            req.into_response(response)
        }
    };

    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("ms-cv"), correlation_vector());
    headers.insert(
        HeaderName::from_static("api-supported-versions"),
        HeaderValue::from_static(operation.supported_versions_header()),
    );
    if let Some(id) = client_request_id {
        headers.insert(HeaderName::from_static(CLIENT_REQUEST_ID), id);
    }
    Ok(response)
}

fn injected(req: &ServiceRequest, fault: Fault, retry_after_seconds: u64) -> HttpResponse {
    match fault {
        Fault::Throttle => AcsError::throttled(retry_after_seconds).error_response(),
        Fault::ServiceUnavailable => AcsError::service_unavailable().error_response(),
        Fault::InternalError => AcsError::internal_error().error_response(),
        Fault::Reset if connection::cut(req.request()) => HttpResponse::ServiceUnavailable().finish(),
        // No socket handle: headers go out, then the body fails, which the client sees mid-read.
        Fault::Reset => HttpResponse::Ok().streaming(futures_util::stream::once(async {
            Err::<web::Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"))
        })),
    }
}

/// A random `MS-CV` in the service's shape: base64 of 16 bytes, then `.0`.
fn correlation_vector() -> HeaderValue {
    let value = format!("{}.0", STANDARD_NO_PAD.encode(rand::random::<[u8; 16]>()));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAA.0"))
}
