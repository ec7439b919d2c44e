//! The two pages of the browser flows: pick a test user, then accept or cancel a permission request.

use std::fmt::Write as _;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode};

use super::Client;
use crate::issuer::{
    TenantSegment,
    directory::TestUser,
    html::{Page, escape, hidden},
    scopes::Scopes,
};

/// The URL the forms post to: this very request's path and query.
pub fn form_action(request: &HttpRequest) -> String {
    match request.query_string() {
        "" => request.path().to_owned(),
        query => format!("{}?{query}", request.path()),
    }
}

/// One button per user the `{tenant}` segment admits.
pub fn sign_in(request: &HttpRequest, client: &Client, users: &[TestUser], purpose: &str) -> HttpResponse {
    let whose = match client.tenant {
        TenantSegment::Tenant(tenant) => format!("of tenant <code>{tenant}</code>"),
        TenantSegment::Organizations | TenantSegment::Common => "of any tenant".to_owned(),
    };
    let purpose = if purpose.is_empty() { String::new() } else { format!(" {}", escape(purpose)) };
    let mut body =
        format!("<p>Application <code>{}</code> asks you to sign in{purpose}.</p>", client.client_id);
    if users.is_empty() {
        let _ = write!(
            body,
            "<p>There are no test users {whose} yet. Create one with <code>POST /dev/users</code> \
             and reload this page.</p>"
        );
    } else {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{}\"><fieldset><legend>Pick a test user {whose}</legend>",
            escape(&form_action(request))
        );
        for user in users {
            let mut notes = Vec::new();
            if user.admin {
                notes.push("administrator");
            }
            if !user.teams_licensed {
                notes.push("no Teams licence");
            }
            let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) };
            let _ = write!(
                body,
                "<button type=\"submit\" name=\"user\" value=\"{}\">{} <span class=\"note\">{}{}</span></button>",
                user.oid,
                escape(&user.name),
                escape(&user.username),
                escape(&notes)
            );
        }
        body.push_str("</fieldset></form>");
    }
    body.push_str("<p class=\"note\">This is the dev Entra issuer: no passwords, test users only.</p>");
    Page { status: StatusCode::OK, title: "Sign in", body, redirect_origin: client.redirect_origin() }
        .into_response()
}

/// The permissions requested of `user`'s organisation, with Accept and Cancel.
pub fn consent(request: &HttpRequest, client: &Client, user: &TestUser, scopes: &Scopes) -> HttpResponse {
    let mut body = format!(
        "<p>Signed in as <strong>{}</strong> ({}), administrator of tenant <code>{}</code>.</p>\
         <p>Application <code>{}</code> asks for these permissions to Azure Communication Services:</p><ul>",
        escape(&user.name),
        escape(&user.username),
        user.tenant,
        client.client_id
    );
    for (name, description) in scopes.teams_described() {
        let _ = write!(body, "<li><strong>{name}</strong>: {description}</li>");
    }
    if scopes.teams().is_empty() {
        body.push_str("<li>Sign you in and read your basic profile</li>");
    }
    let _ = write!(
        body,
        "</ul><p>Accepting grants them for everyone in your organisation (admin consent).</p>\
         <form method=\"post\" action=\"{}\">{}\
         <button type=\"submit\" name=\"consent\" value=\"accept\" class=\"secondary\">Accept</button>\
         <button type=\"submit\" name=\"consent\" value=\"cancel\" class=\"secondary\">Cancel</button></form>",
        escape(&form_action(request)),
        hidden("user", &user.oid.to_string())
    );
    Page {
        status: StatusCode::OK,
        title: "Permissions requested",
        body,
        redirect_origin: client.redirect_origin(),
    }
    .into_response()
}
