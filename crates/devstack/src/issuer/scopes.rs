//! The `scope` parameter of the browser flows: OpenID Connect scopes plus ACS's delegated Teams
//! permissions, the only API the dev issuer knows.
//!
//! Resource scopes must be fully qualified (`https://auth.msft.communication.azure.com/Teams.ManageCalls`,
//! or `.../.default` for both): as in Entra, an unqualified scope would name Microsoft Graph, which
//! the dev issuer does not serve. Anything else is Entra's `invalid_scope` (AADSTS70011).

use super::mint::{DEFAULT_AUDIENCE, DEFAULT_SCOPES, DEFAULT_V2_AUDIENCE};

/// ACS's first-party application, whose service principal a tenant needs before anyone in it can
/// be granted the Teams permissions.
pub const ACS_APP_ID: &str = DEFAULT_V2_AUDIENCE;
/// The name Entra gives that application in its errors.
pub const ACS_DISPLAY_NAME: &str = "Azure Communication Services";
/// What each Teams permission lets the app do, as the consent page shows it.
const DESCRIPTIONS: [(&str, &str); 2] = [
    ("Teams.ManageCalls", "Manage calls in Teams on your behalf"),
    ("Teams.ManageChats", "Manage chats in Teams on your behalf"),
];
const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A parsed, normalised scope request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    /// The OpenID Connect scopes asked for, lowercase, in [`OIDC`] order.
    oidc: Vec<&'static str>,
    /// The Teams permissions asked for, in [`DEFAULT_SCOPES`] order (`.default` asks for both).
    teams: Vec<&'static str>,
}

impl Scopes {
    /// Parses a space-separated `scope`; the error is `invalid_scope`'s description.
    pub fn parse(scope: &str) -> Result<Self, String> {
        let (mut oidc, mut teams) = (Vec::new(), Vec::new());
        for item in scope.split_whitespace() {
            if let Some(known) = OIDC.iter().find(|known| known.eq_ignore_ascii_case(item)) {
                oidc.push(*known);
                continue;
            }
            let permission = acs_permission(item).ok_or_else(|| {
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope '{item}' \
                     is not one the dev issuer serves: openid, profile, email, offline_access, and \
                     {DEFAULT_AUDIENCE}/Teams.ManageCalls, /Teams.ManageChats or /.default."
                )
            })?;
            match permission {
                Permission::Default => teams.extend(DEFAULT_SCOPES),
                Permission::One(name) => teams.push(name),
            }
        }
        if oidc.is_empty() && teams.is_empty() {
            return Err("The provided value for the input parameter 'scope' is not valid.".to_owned());
        }
        oidc.sort_by_key(|scope| OIDC.iter().position(|known| known == scope));
        oidc.dedup();
        teams.sort_by_key(|scope| DEFAULT_SCOPES.iter().position(|known| known == scope));
        teams.dedup();
        Ok(Self { oidc, teams })
    }

    /// Whether any Teams permission is asked for (the request then needs consent and ACS's service
    /// principal in the user's tenant).
    pub fn wants_teams(&self) -> bool {
        !self.teams.is_empty()
    }

    /// Whether an id token is asked for.
    pub fn wants_id_token(&self) -> bool {
        self.oidc.contains(&"openid")
    }

    /// The Teams permissions, for the access token's `scp`.
    pub fn teams(&self) -> &[&'static str] {
        &self.teams
    }

    /// The OpenID Connect scopes asked for.
    pub fn oidc(&self) -> &[&'static str] {
        &self.oidc
    }

    /// The `scope` of a token response: the granted resource scopes fully qualified, then the
    /// OpenID Connect ones.
    pub fn granted(&self) -> String {
        let teams = self.teams.iter().map(|name| format!("{DEFAULT_AUDIENCE}/{name}"));
        teams.chain(self.oidc.iter().map(|scope| (*scope).to_owned())).collect::<Vec<_>>().join(" ")
    }

    /// The Teams permissions with what each lets the app do, for the consent page.
    pub fn teams_described(&self) -> Vec<(&'static str, &'static str)> {
        DESCRIPTIONS.into_iter().filter(|(name, _)| self.teams.contains(name)).collect()
    }
}

enum Permission {
    Default,
    One(&'static str),
}

/// `https://auth.msft.communication.azure.com/Teams.ManageCalls` (or with ACS's app id as the
/// resource) → the permission; `None` for any other scope.
fn acs_permission(scope: &str) -> Option<Permission> {
    let name = [DEFAULT_AUDIENCE, ACS_APP_ID].iter().find_map(|resource| {
        let prefix = scope.get(..resource.len())?;
        let rest = scope[resource.len()..].strip_prefix('/')?;
        prefix.eq_ignore_ascii_case(resource).then_some(rest)
    })?;
    if name == ".default" {
        return Some(Permission::Default);
    }
    DEFAULT_SCOPES.iter().find(|known| known.eq_ignore_ascii_case(name)).map(|known| Permission::One(known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_teams_scopes_and_oidc_scopes_are_understood_and_normalised() {
        let scopes = Scopes::parse(
            "openid https://auth.msft.communication.azure.com/Teams.ManageChats offline_access \
             HTTPS://auth.msft.communication.azure.com/teams.managecalls profile openid",
        )
        .unwrap();
        assert_eq!(scopes.teams(), ["Teams.ManageCalls", "Teams.ManageChats"]);
        assert_eq!(scopes.oidc(), ["openid", "profile", "offline_access"]);
        assert_eq!(
            scopes.granted(),
            "https://auth.msft.communication.azure.com/Teams.ManageCalls \
             https://auth.msft.communication.azure.com/Teams.ManageChats openid profile offline_access"
        );
    }

    #[test]
    fn dot_default_asks_for_both_teams_permissions() {
        let scopes = Scopes::parse("https://auth.msft.communication.azure.com/.default").unwrap();
        assert_eq!(scopes.teams(), ["Teams.ManageCalls", "Teams.ManageChats"]);
        assert!(!scopes.wants_id_token());
    }

    #[test]
    fn unqualified_or_foreign_scopes_are_refused() {
        for scope in ["Teams.ManageCalls", "https://graph.microsoft.com/User.Read", "", "   "] {
            assert!(Scopes::parse(scope).is_err(), "{scope:?}");
        }
    }
}
