//! One span per request with a request id (an incoming `x-request-id` is reused when sane), echoed
//! back in the response; one access line per request once it is answered ([`access`]); and a last
//! line of defence that turns any non-problem error response into problem details, so clients only
//! ever see one error shape.

use std::time::Instant;

use actix_web::{
    Error, HttpMessage, HttpRequest, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::InternalError,
    http::header::{self, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
};
use registry::admin_keys::AdminPrincipal;
use tracing::Instrument;

use crate::{
    problem::{self, Problem, REQUEST_ID},
    telemetry::access,
};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request id for this request, as handlers may want it (e.g. for audit events).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let _in_flight = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| InFlight::enter(&state.metrics));
    // The span carries the id alone: lines logged while handling the request need it to be tied to
    // the access line, which says the rest once.
    let span = tracing::info_span!("request", request_id = %id, admin = tracing::field::Empty);
    // An onboarding page's path holds its token, a credential: the log shows `{token}` instead.
    let (method, path) =
        (req.method().clone(), crate::routes::onboarding::loggable_path(req.path()).into_owned());
    let started = Instant::now();
    let handling = REQUEST_ID.scope(id.clone(), next.call(req).instrument(span));
    let (outcome, notes) = access::collect(handling).await;
    REQUEST_ID
        .scope(id.clone(), async move {
            let header = HeaderValue::from_str(&id).ok();
            let outcome = match outcome {
                Ok(response) => {
                    let mut response = problem_if_bare_error(response.map_into_boxed_body());
                    if let Some(value) = header {
                        response.headers_mut().insert(REQUEST_ID_HEADER, value);
                    }
                    Ok(response)
                }
                // An error from a middleware (e.g. admin authentication): answer with its problem,
                // carried in an error since there is no request to build a ServiceResponse from.
                Err(error) => {
                    let mut response = error.error_response();
                    if !is_problem(response.headers()) {
                        response = Problem::for_status(response.status()).error_response();
                    }
                    if let Some(value) = header {
                        response.headers_mut().insert(REQUEST_ID_HEADER, value);
                    }
                    Err((error.to_string(), response))
                }
            };
            let (status, admin) = match &outcome {
                Ok(response) => (response.status(), admin_name(response.request())),
                Err((_, response)) => (response.status(), None),
            };
            let request = access::Request {
                id: &id,
                method: method.as_str(),
                path: &path,
                status: status.as_u16(),
                latency: started.elapsed(),
                admin: admin.as_deref(),
            };
            access::write(&request, &notes);
            outcome.map_err(|(cause, response)| InternalError::from_response(cause, response).into())
        })
        .await
}

/// The admin key's name, on admin requests that presented a valid one.
fn admin_name(request: &HttpRequest) -> Option<String> {
    request.extensions().get::<AdminPrincipal>().map(|principal| principal.name.clone())
}

/// Counts a request in flight for as long as it lives, however it ends.
struct InFlight(prometheus::IntGauge);

impl InFlight {
    fn enter(metrics: &crate::observability::Metrics) -> Self {
        metrics.in_flight.inc();
        Self(metrics.in_flight.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Pages for people (onboarding) answer errors as pages of their own; everything else as problems.
fn problem_if_bare_error(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || is_problem(response.headers())
        || is_page(response.headers())
    {
        return response;
    }
    let (request, _) = response.into_parts();
    ServiceResponse::new(request, Problem::for_status(status).error_response())
}

fn is_page(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(problem::CONTENT_TYPE.as_bytes()))
}

/// Printable ASCII without spaces, at most 128 characters: safe to log and echo.
fn is_sane_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}
