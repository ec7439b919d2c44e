//! The onboarding pages' HTML (maud: checked at compile time, every value escaped). No script, one
//! inline style allowed by its hash, headings in order, plain words, contrast of at least 4.5:1.

use std::sync::LazyLock;

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use registry::invitations::{InvitationState, Invited};
use sha2::{Digest, Sha256};

use crate::settings::Onboarding;

/// The pages' one style sheet, inline: the CSP allows exactly these bytes, by hash.
const STYLE: &str = "\
body{margin:0;font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:#1b1b1b;background:#f4f4f4}\
main{max-width:40rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #c8c8c8;border-radius:.5rem}\
h1{font-size:1.5rem;line-height:1.25;margin-top:0}\
h2{font-size:1.125rem;margin-top:1.5rem}\
dt{font-weight:600}\
dd{margin:0 0 .75rem}\
dd ul{padding-left:1.25rem;margin:.25rem 0}\
code{font-family:ui-monospace,Consolas,monospace;background:#efefef;padding:.1rem .25rem;border-radius:.2rem;word-break:break-all}\
button{font:inherit;font-weight:600;color:#fff;background:#0b5cad;border:0;border-radius:.25rem;padding:.75rem 1.25rem;cursor:pointer}\
button:hover{background:#084a8c}\
button:focus-visible{outline:3px solid #1b1b1b;outline-offset:2px}\
.note{color:#4a4a4a;font-size:.9375rem}\
.attempt{border-left:4px solid #8a5a00;padding-left:.75rem}";

/// `'sha256-…'` of [`STYLE`], for the CSP's `style-src`.
static STYLE_SOURCE: LazyLock<String> =
    LazyLock::new(|| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(STYLE.as_bytes()))));

/// The pages' Content-Security-Policy: nothing but the inline style, no framing, and forms that go
/// only here or to the Entra authority host (where the consent flow sends the browser next).
pub fn content_security_policy(authority_origin: &str) -> String {
    format!(
        "default-src 'none'; style-src {}; form-action 'self' {authority_origin}; frame-ancestors 'none'; \
         base-uri 'none'",
        *STYLE_SOURCE
    )
}

fn layout(vendor: &str, heading: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (heading) " – " (vendor) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { (heading) }
                    (PreEscaped(content.into_string()))
                }
            }
        }
    }
}

/// The invitation's page: who asks, for which app and which permissions, and the button.
pub fn landing(onboarding: &Onboarding, invited: &Invited, token: &str) -> Markup {
    let vendor = onboarding.vendor_name.as_str();
    let expires = invited.invitation.expires_at;
    let heading = format!("Connect your Microsoft 365 tenant to {vendor}");
    // Relative to the page's own URL, `/onboarding/{token}`: whatever prefix the gateway sits under.
    let action = format!("{token}/start");
    layout(
        vendor,
        &heading,
        html! {
            p {
                (vendor) " asks an administrator of " strong { (invited.tenant_display_name.as_str()) }
                " to connect your organisation's Microsoft 365 tenant, so that your Teams users can call and \
                 chat in " (vendor) "'s apps through Azure Communication Services."
            }
            @if let Some(attempt) = last_attempt(invited.invitation.state) {
                p.attempt { strong { "Last attempt: " } (attempt) }
            }
            h2 { "What you will be asked to approve" }
            p {
                "You sign in with a Microsoft Entra administrator account of your organisation. Microsoft then \
                 asks you to grant, for your whole organisation:"
            }
            dl {
                dt { "Application" }
                dd { (vendor) }
                dt { "Application (client) ID" }
                dd { code { (onboarding.client_id) } }
                dt { "Permissions (Azure Communication Services, delegated)" }
                dd {
                    ul {
                        li {
                            strong { "Teams.ManageCalls" } ": make and manage Teams calls as the signed-in user"
                        }
                        li {
                            strong { "Teams.ManageChats" } ": send and manage Teams chats as the signed-in user"
                        }
                    }
                }
            }
            p {
                "Nothing is granted until you accept on Microsoft's own page. You can withdraw consent at any \
                 time under Enterprise applications in the Microsoft Entra admin center."
            }
            form method="post" action=(action) {
                button type="submit" { "Connect your Microsoft 365 tenant" }
            }
            p.note {
                "This invitation works once and expires on "
                time datetime=(expires.to_rfc3339_opts(SecondsFormat::Secs, true)) { (human(expires)) } "."
            }
        },
    )
}

/// What an earlier, failed attempt with this invitation found.
fn last_attempt(state: InvitationState) -> Option<&'static str> {
    match state {
        InvitationState::ConsentDenied => Some("consent was not granted. You can try again."),
        InvitationState::ServicePrincipalMissing => Some(
            "Azure Communication Services is not set up in your tenant yet. An administrator can add it \
             with Microsoft Graph PowerShell: New-MgServicePrincipal -AppId \
             1fd5118e-2576-4263-8130-9503064c837a. Then try again.",
        ),
        _ => None,
    }
}

/// An invitation that can no longer be used: why, in plain words, naming no tenant.
pub fn closed(onboarding: &Onboarding, state: InvitationState) -> Markup {
    let vendor = onboarding.vendor_name.as_str();
    let (heading, text) = match state {
        InvitationState::Expired => (
            "This invitation has expired",
            format!("Invitations work for a limited time. Ask {vendor} for a new link."),
        ),
        InvitationState::Revoked => (
            "This invitation was withdrawn",
            format!(
                "{vendor} has withdrawn this link. If you still want to connect, ask them for a new one."
            ),
        ),
        _ => (
            "This invitation has already been used",
            format!(
                "It has connected a Microsoft 365 tenant, and there is nothing more to do here. Each link works \
                 once: to connect again, ask {vendor} for a new one."
            ),
        ),
    };
    message(vendor, heading, &text)
}

/// A token that names no invitation.
pub fn unknown(onboarding: &Onboarding) -> Markup {
    message(
        &onboarding.vendor_name,
        "Invitation not found",
        "This link is not valid. Check that you copied all of it, or ask whoever sent it for a new one.",
    )
}

/// The connection step, which comes next.
pub fn not_yet(onboarding: &Onboarding) -> Markup {
    let vendor = onboarding.vendor_name.as_str();
    message(
        vendor,
        "Connecting is not available yet",
        &format!(
            "This gateway cannot complete the connection yet. Your invitation is still valid; {vendor} \
             will tell you when to use it."
        ),
    )
}

pub fn unavailable(onboarding: &Onboarding) -> Markup {
    message(
        &onboarding.vendor_name,
        "Please try again in a moment",
        "This page cannot be shown right now. Nothing has changed; reload it in a few seconds.",
    )
}

pub fn broken(onboarding: &Onboarding) -> Markup {
    message(
        &onboarding.vendor_name,
        "Something went wrong",
        "This page cannot be shown. Please try again later.",
    )
}

fn message(vendor: &str, heading: &str, text: &str) -> Markup {
    layout(vendor, heading, html! { p { (text) } })
}

/// `27 November 2026 at 21:00 UTC`
fn human(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y at %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_inline_style_by_its_hash_and_nothing_else() {
        let policy = content_security_policy("https://login.microsoftonline.com");
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        assert_eq!(
            policy,
            format!(
                "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self' \
                 https://login.microsoftonline.com; frame-ancestors 'none'; base-uri 'none'"
            )
        );
    }

    #[test]
    fn dates_read_as_words_in_utc() {
        let at = DateTime::from_timestamp(1_796_158_800, 0).unwrap();
        assert_eq!(human(at), "1 December 2026 at 21:00 UTC");
    }
}
