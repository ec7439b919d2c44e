pub mod admin;
pub mod exchange;
pub mod health;
pub mod metrics;
pub mod onboarding;

use actix_web::web;

/// Every route of the gateway. Admin routes sit behind the admin-key middleware as one scope; the
/// onboarding pages are public (their token is the credential);
/// `/metrics` is here unless it has a listener of its own.
pub fn configure(cfg: &mut web::ServiceConfig, metrics_here: bool) {
    if metrics_here {
        cfg.service(metrics::metrics);
    }
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(crate::openapi::openapi_json)
        .service(exchange::exchange_teams_token)
        .service(exchange::hero_teams_token)
        .service(onboarding::invitation_page)
        .service(onboarding::start_connection)
        .service(admin::scope());
}
