//! The route table: five Identity routes behind the pipeline middleware, and `/dev/*`.

use actix_web::{HttpResponse, ResponseError as _, Route, dev::HttpServiceFactory, middleware::from_fn, web};

use actix_web::error::JsonPayloadError;

use super::{
    api_version::Operation,
    body::{self, MAX_BODY_BYTES},
    dev_routes,
    error::AcsError,
    exchange, identity_routes,
    pipeline::identity_pipeline,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .service(identity_route(
            Operation::Exchange,
            "/teamsUser/:exchangeAccessToken",
            web::post().to(exchange::exchange),
        ))
        .service(identity_route(
            Operation::CreateIdentity,
            "/identities",
            web::post().to(identity_routes::create),
        ))
        .service(identity_route(
            Operation::IssueToken,
            "/identities/{id}/:issueAccessToken",
            web::post().to(identity_routes::issue_token),
        ))
        .service(identity_route(
            Operation::Revoke,
            "/identities/{id}/:revokeAccessTokens",
            web::post().to(identity_routes::revoke),
        ))
        .service(identity_route(
            Operation::Delete,
            "/identities/{id}",
            web::delete().to(identity_routes::delete),
        ))
        .service(
            web::scope("/dev")
                .app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES).error_handler(|error, _| {
                    match error {
                        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                            body::payload_too_large()
                        }
                        error => {
                            AcsError::malformed_body(format!("The body is not valid for this route: {error}"))
                                .into()
                        }
                    }
                }))
                .route("/faults", web::get().to(dev_routes::get_faults))
                .route("/faults", web::post().to(dev_routes::set_faults))
                .route("/users/{oid}/refusal", web::get().to(dev_routes::get_refusal))
                .route("/users/{oid}/refusal", web::post().to(dev_routes::set_refusal))
                .route("/users/{oid}/refusal", web::delete().to(dev_routes::delete_refusal))
                .route("/stats", web::get().to(dev_routes::get_stats))
                .route("/stats:reset", web::post().to(dev_routes::reset_stats)),
        )
        .default_service(web::to(not_found));
}

/// One Identity route, named after its operation so that the pipeline knows which one it is.
fn identity_route(operation: Operation, path: &str, route: Route) -> impl HttpServiceFactory + use<> {
    web::resource(path)
        .name(operation.name())
        .route(route)
        .default_service(web::to(method_not_allowed))
        .wrap(from_fn(identity_pipeline))
}

async fn not_found() -> HttpResponse {
    AcsError::not_found().error_response()
}

async fn method_not_allowed() -> HttpResponse {
    AcsError::method_not_allowed().error_response()
}
