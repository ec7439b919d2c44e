//! The admin API (`/admin/v1`): tenants, their invitations, audit events and admin keys, for SaaS
//! operators holding an admin key; what each key's role allows is in [`permission`].

mod actor;
pub(crate) mod admin_keys;
pub(crate) mod audit_events;
mod auth;
mod body;
#[doc(hidden)]
pub mod decode;
mod error;
mod if_match;
mod input;
pub(crate) mod invitations;
mod merge;
pub mod permission;
pub(crate) mod stats;
mod tenant;
pub(crate) mod tenants;
mod view;

use actix_web::{Scope, middleware::from_fn, web};

pub use self::error::AdminError;

pub fn scope() -> Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/admin/v1")
        .wrap(from_fn(auth::require_admin_key))
        .service(tenants::create_tenant)
        .service(tenants::list_tenants)
        .service(stats::tenant_stats)
        .service(tenants::read_tenant)
        .service(tenants::patch_tenant)
        .service(tenants::replace_tenant_acs)
        .service(tenants::delete_tenant)
        .service(invitations::create_invitation)
        .service(invitations::list_invitations)
        .service(invitations::revoke_invitation)
        .service(audit_events::list_audit_events)
        .service(admin_keys::create_admin_key)
        .service(admin_keys::list_admin_keys)
        .service(admin_keys::revoke_admin_key)
}
