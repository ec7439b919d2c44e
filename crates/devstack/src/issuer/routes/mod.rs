//! The issuer's HTTP surface: Entra's public endpoints plus the `/dev/*` test controls.

mod dev;
mod error;
mod metadata;
mod token;

use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError as _, web};

pub use self::error::EntraError;

/// Registers every route. The `/dev/*` routes come first and have two segments while every tenant
/// route has at least three, so `dev` can never be taken for a tenant.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/dev/tokens").route(web::post().to(dev::mint)))
        // A literal `:` is not special in actix route patterns (only `{...}` is), so this matches the
        // Google-style custom-method path as written.
        .service(resource("/dev/keys:rotate").route(web::post().to(dev::rotate)))
        .service(resource("/{tenant}/.well-known/openid-configuration").route(web::get().to(metadata::v1)))
        .service(
            resource("/{tenant}/v2.0/.well-known/openid-configuration").route(web::get().to(metadata::v2)),
        )
        .service(resource("/{tenant}/discovery/keys").route(web::get().to(metadata::v1_keys)))
        .service(resource("/{tenant}/discovery/v2.0/keys").route(web::get().to(metadata::v2_keys)))
        .service(resource("/{tenant}/oauth2/token").route(web::post().to(token::v1)))
        .service(resource("/{tenant}/oauth2/v2.0/token").route(web::post().to(token::v2)))
        .default_service(web::to(not_found));
}

/// A resource whose wrong-method answer is JSON like every other error, not actix's empty 405.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found(request: HttpRequest) -> HttpResponse {
    EntraError::not_found(request.method(), request.path()).error_response()
}

async fn method_not_allowed(request: HttpRequest) -> HttpResponse {
    EntraError::method_not_allowed(request.method(), request.path()).error_response()
}

/// `scheme://host[:port]` as the client addressed this server. Endpoint URLs in the metadata are
/// built from it, the way Entra names its own host: the issuer then works under whatever name the
/// gateway reaches it by (`127.0.0.1` in tests, a service name in a container network). Issuers are
/// never built from it.
fn request_base(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
