//! The sign-in, consent and error pages: plain server-rendered HTML, no JavaScript, a strict
//! Content-Security-Policy.
//!
//! Four small pages do not earn a template engine (and a proc-macro dependency) here: they are
//! built with `format!`, and every value that did not come from this file goes through [`escape`].
//! The one stylesheet is inline and allowed by its hash; nothing else may load.
//!
//! `form-action` lists the client's origin beside `'self'` on pages whose form answers with a
//! redirect to the client: Chromium applies `form-action` to the redirects that follow a form
//! submission too.

use std::{fmt::Write as _, sync::LazyLock};

use actix_web::{HttpResponse, http::StatusCode};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use sha2::{Digest as _, Sha256};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;\
color:#1b1b1b}h1{font-size:1.4rem}button{display:block;width:100%;margin:.5rem 0;padding:.7rem;\
font-size:1rem;text-align:left;cursor:pointer}.secondary{text-align:center}.note{color:#555;\
font-size:.9rem}ul{padding-left:1.2rem}";

static STYLE_HASH: LazyLock<String> =
    LazyLock::new(|| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(STYLE.as_bytes()))));

/// Escapes text for an HTML text node or a double-quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(r#"<input type="hidden" name="{}" value="{}">"#, escape(name), escape(value))
}

/// A page with the shared head, the title as `<h1>`, and `body` (already HTML).
pub struct Page<'a> {
    pub status: StatusCode,
    pub title: &'a str,
    pub body: String,
    /// The origin the page's form may redirect to after submission (the client's), if any.
    pub redirect_origin: Option<String>,
}

impl Page<'_> {
    pub fn into_response(self) -> HttpResponse {
        let title = escape(self.title);
        let mut html = String::new();
        let _ = write!(
            html,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · dev Entra issuer</title><style>{STYLE}</style></head>\
             <body><main><h1>{title}</h1>{}</main></body></html>\n",
            self.body
        );
        let form_action = match &self.redirect_origin {
            Some(origin) => format!("'self' {origin}"),
            None => "'self'".to_owned(),
        };
        let policy = format!(
            "default-src 'none'; style-src {}; form-action {form_action}; frame-ancestors 'none'; \
             base-uri 'none'",
            *STYLE_HASH
        );
        HttpResponse::build(self.status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", policy))
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(html)
    }
}

/// An error page: Entra shows these instead of redirecting when the redirect target itself cannot
/// be trusted (unknown client, bad `redirect_uri`).
pub fn error_page(error: &str, description: &str) -> HttpResponse {
    let body = format!(
        "<p>Sorry, but we're having trouble signing you in.</p><p><strong>{}</strong></p><p>{}</p>",
        escape(error),
        escape(description)
    );
    Page { status: StatusCode::BAD_REQUEST, title: "Sign-in error", body, redirect_origin: None }
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_for_text_and_attributes() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(
            hidden("state", "\"><script>"),
            r#"<input type="hidden" name="state" value="&quot;&gt;&lt;script&gt;">"#
        );
    }
}
