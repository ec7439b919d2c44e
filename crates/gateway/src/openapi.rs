//! The OpenAPI 3.1 description, generated from the handlers and types themselves.

use actix_web::{HttpResponse, get};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, RefOr, Type,
        header::HeaderBuilder,
        path::Operation,
        response::ResponseBuilder,
        schema::ObjectBuilder,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
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
        admin::invitations::create_invitation,
        admin::invitations::list_invitations,
        admin::invitations::revoke_invitation,
        admin::audit_events::list_audit_events,
        admin::stats::tenant_stats,
        admin::admin_keys::create_admin_key,
        admin::admin_keys::list_admin_keys,
        admin::admin_keys::revoke_admin_key,
        crate::routes::metrics::metrics,
    ),
    components(schemas(crate::problem::ProblemBody, crate::problem::FieldError)),
    modifiers(&AdminKeyScheme, &ResponseHeaders),
    tags(
        (name = "exchange", description = "Entra token of a Teams user (A1) for an ACS token (D), for end-user apps"),
        (name = "admin", description = "Tenant registry, invitations and admin keys, for SaaS operators; each key's role limits what it may do (403 `forbidden`)"),
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

/// Headers the handlers' annotations leave out: `x-request-id` on every response (the request's id, as
/// in problem details), and the exchange's 429 and 503 with their `Retry-After`.
struct ResponseHeaders;

impl Modify for ResponseHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                describe_headers(operation);
            }
        }
    }
}

fn describe_headers(operation: &mut Operation) {
    let header = |schema_type: Type, description: &str| {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(schema_type))
            .description(Some(description))
            .build()
    };
    let request_id = header(
        Type::String,
        "The request's id: the caller's `x-request-id` when sane, else a new one; also in problem details.",
    );
    let retry_after = header(Type::Integer, "Seconds to wait before trying again.");
    let exchange = operation.tags.as_ref().is_some_and(|tags| tags.iter().any(|t| t == "exchange"));
    if exchange {
        for (status, description) in [
            (
                "429",
                "Rate limited: the tenant's limit, one user's limit, or ACS throttling (`rate_limited`).",
            ),
            ("503", "ACS, Entra or the registry is unavailable (`upstream_unavailable`)."),
        ] {
            let problem = Content::new(Some(Ref::from_schema_name("ProblemBody")));
            let response = ResponseBuilder::new()
                .description(description)
                .content(crate::problem::CONTENT_TYPE, problem)
                .header("Retry-After", retry_after.clone())
                .build();
            operation.responses.responses.entry(status.to_owned()).or_insert(RefOr::T(response));
        }
    }
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.headers.insert("x-request-id".to_owned(), request_id.clone());
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 JSON")))]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
