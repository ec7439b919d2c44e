//! The issuer's HTTP surface: Entra's public endpoints plus the `/dev/*` test controls.

mod browser;
mod code_grant;
mod dev;
mod dev_directory;
mod error;
mod metadata;
mod token;

use actix_web::{HttpRequest, HttpResponse, Resource, ResponseError as _, web};

pub use self::error::EntraError;

/// Registers every route. The `/dev/*` routes come first, and no tenant route has the shape of one
/// (`/dev/tenants/{tenant}/service-principal` has no tenant-route twin), so `dev` can never be
/// taken for a tenant.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/dev/tokens").route(web::post().to(dev::mint)))
        // A literal `:` is not special in actix route patterns (only `{...}` is), so this matches the
        // Google-style custom-method path as written.
        .service(resource("/dev/keys:rotate").route(web::post().to(dev::rotate)))
        .service(
            resource("/dev/users")
                .route(web::post().to(dev_directory::add_user))
                .route(web::get().to(dev_directory::list_users)),
        )
        .service(
            resource("/dev/tenants/{tenant}/service-principal")
                .route(web::post().to(dev_directory::set_service_principal))
                .route(web::get().to(dev_directory::get_service_principal)),
        )
        .service(resource("/dev/clients").route(web::post().to(dev_directory::add_client)))
        .service(resource("/dev/consents").route(web::post().to(dev_directory::add_consent)))
        .service(
            resource("/{tenant}/oauth2/v2.0/authorize")
                .route(web::get().to(browser::authorize::get))
                .route(web::post().to(browser::authorize::post)),
        )
        .service(
            resource("/{tenant}/v2.0/adminconsent")
                .route(web::get().to(browser::adminconsent::get))
                .route(web::post().to(browser::adminconsent::post)),
        )
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
