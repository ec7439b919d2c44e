//! The OpenAPI 3.1 description, generated from the handlers and types themselves.

use actix_web::{HttpResponse, get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::routes::{admin, exchange, health};

#[derive(OpenApi)]
#[openapi(
    info(title = "ACS Teams Token Gateway", description = "Exchanges Entra tokens of Teams users for Azure Communication Services tokens, per tenant."),
    paths(
        exchange::exchange_teams_token,
        exchange::hero_teams_token,
        health::healthz,
        health::readyz,
        openapi_json,
        admin::tenants::create_tenant,
        admin::tenants::list_tenants,
        admin::tenants::read_tenant,
        admin::tenants::patch_tenant,
        admin::tenants::replace_tenant_acs,
        admin::tenants::delete_tenant,
        admin::audit_events::list_audit_events,
        admin::stats::tenant_stats,
        crate::routes::metrics::metrics,
    ),
    components(schemas(crate::problem::ProblemBody, crate::problem::FieldError)),
    modifiers(&AdminKeyScheme),
    tags(
        (name = "exchange", description = "Entra token of a Teams user (A1) for an ACS token (D), for end-user apps"),
        (name = "admin", description = "Tenant registry, for SaaS operators"),
        (name = "operations"),
    ),
)]
pub struct ApiDoc;

struct AdminKeyScheme;

impl Modify for AdminKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "adminKey",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "artifactB",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "the vendor's authorization artifact B, checked by the tenant's policy",
                    ))
                    .build(),
            ),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 JSON")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
