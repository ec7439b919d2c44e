//! Who an admin change is recorded against in the audit log: the admin key's name, which
//! `auth::require_admin_key` put on the request, and the request's id.

use std::{convert::Infallible, ops::Deref};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};
use registry::{admin_keys::AdminPrincipal, audit::Actor};

use crate::request_context::RequestId;

/// The audit [`Actor`] of an admin request.
pub struct AdminActor(Actor);

impl Deref for AdminActor {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl FromRequest for AdminActor {
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let extensions = request.extensions();
        std::future::ready(Ok(Self(Actor {
            name: extensions.get::<AdminPrincipal>().map_or_else(|| "unknown".to_owned(), |p| p.name.clone()),
            request_id: extensions.get::<RequestId>().map(|id| id.0.clone()),
        })))
    }
}
