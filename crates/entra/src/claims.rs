//! The claim rules of an Entra access token, checked after its signature: version and issuer form,
//! audience, lifetime, scopes, and the bindings to the claimed user, app and tenant.

use jose::{
    json::JsonObject,
    lifetime::{self, CountedFrom, LifetimeRules, required_date},
};
use uuid::Uuid;

use crate::Rejection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersion {
    V1,
    V2,
}

impl TokenVersion {
    pub fn from_claims(claims: &JsonObject) -> Result<Self, Rejection> {
        match claims.get("ver").and_then(|v| v.as_str()) {
            Some("1.0") => Ok(Self::V1),
            Some("2.0") => Ok(Self::V2),
            Some(_) => Err(Rejection::Version),
            None => Err(Rejection::MissingClaim("ver")),
        }
    }

    /// The claim naming the client app: `appid` in v1, `azp` in v2; the other must be absent.
    pub fn app_claim(self) -> (&'static str, &'static str) {
        match self {
            Self::V1 => ("appid", "azp"),
            Self::V2 => ("azp", "appid"),
        }
    }
}

pub fn string<'a>(claims: &'a JsonObject, name: &'static str) -> Result<&'a str, Rejection> {
    match claims.get(name) {
        None => Err(Rejection::MissingClaim(name)),
        Some(value) => value.as_str().ok_or(Rejection::BadClaim(name)),
    }
}

/// A GUID claim in Entra's one form (36 characters, hyphenated), compared as a GUID.
pub fn guid(claims: &JsonObject, name: &'static str) -> Result<Uuid, Rejection> {
    let value = string(claims, name)?;
    if value.len() != 36 {
        return Err(Rejection::BadClaim(name));
    }
    Uuid::try_parse(value).map_err(|_| Rejection::BadClaim(name))
}

/// The time window of a token, checked with a leeway and a maximum lifetime. Entra's rule: `nbf` and
/// `exp` are required and the lifetime is `exp - nbf` (`iat` is the authentication time, not read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub not_before: i64,
    pub expires_at: i64,
}

impl Lifetime {
    pub fn from_claims(claims: &JsonObject) -> Result<Self, Rejection> {
        Ok(Self { not_before: required_date(claims, "nbf")?, expires_at: required_date(claims, "exp")? })
    }

    pub fn check(&self, now: i64, leeway: i64, max_lifetime: i64) -> Result<(), Rejection> {
        let window = lifetime::Lifetime {
            not_before: Some(self.not_before),
            issued_at: None,
            expires_at: self.expires_at,
        };
        let rules = LifetimeRules { leeway, max_lifetime, counted_from: CountedFrom::Start };
        Ok(window.check::<&str>(now, &rules)?)
    }
}

/// `aud` must be a single string, exactly one of the accepted audiences.
pub fn check_audience(claims: &JsonObject, accepted: &[&str]) -> Result<(), Rejection> {
    let aud = string(claims, "aud")
        .map_err(|e| if e == Rejection::BadClaim("aud") { Rejection::Audience } else { e })?;
    if accepted.contains(&aud) { Ok(()) } else { Err(Rejection::Audience) }
}

/// Delegated (user) tokens only, with every required scope as an exact word of `scp`.
pub fn check_scopes(claims: &JsonObject, required: &[&str]) -> Result<(), Rejection> {
    if claims.get("idtyp").and_then(|v| v.as_str()) == Some("app") {
        return Err(Rejection::AppOnly);
    }
    let scp = match claims.get("scp") {
        None if claims.contains_key("roles") => return Err(Rejection::AppOnly),
        None => return Err(Rejection::Scope),
        Some(value) => value.as_str().ok_or(Rejection::BadClaim("scp"))?,
    };
    let granted: Vec<&str> = scp.split(' ').collect();
    if required.iter().all(|scope| granted.contains(scope)) { Ok(()) } else { Err(Rejection::Scope) }
}

/// The other version's app claim (`azp` in v1, `appid` in v2) must be absent.
pub fn check_app_claim_version(claims: &JsonObject, version: TokenVersion) -> Result<(), Rejection> {
    let (_, other) = version.app_claim();
    if claims.contains_key(other) { Err(Rejection::Version) } else { Ok(()) }
}

/// The app id of the token, from the claim its version uses. Whether the other version's claim is
/// absent is `check_app_claim_version`'s to say, checked once for every token.
pub fn app_id(claims: &JsonObject, version: TokenVersion) -> Result<Uuid, Rejection> {
    guid(claims, version.app_claim().0)
}

/// Members only: a token whose `idp` (the identity provider that authenticated the user) is not its
/// issuer belongs to a guest (another Entra tenant, or a Microsoft account), refused by policy.
pub fn check_home_tenant(claims: &JsonObject, iss: &str) -> Result<(), Rejection> {
    match claims.get("idp") {
        None => Ok(()),
        Some(idp) => match idp.as_str() {
            Some(idp) if idp == iss => Ok(()),
            Some(_) => Err(Rejection::GuestAccount),
            None => Err(Rejection::BadClaim("idp")),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: serde_json::Value) -> JsonObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn lifetimes_honour_a_leeway_and_a_maximum() {
        let window = Lifetime { not_before: 1000, expires_at: 2000 };
        assert_eq!(window.check(1500, 60, 100_000), Ok(()));
        assert_eq!(window.check(2060, 60, 100_000), Ok(()));
        assert_eq!(window.check(2061, 60, 100_000), Err(Rejection::Expired));
        assert_eq!(window.check(939, 60, 100_000), Err(Rejection::NotYetValid));
        assert_eq!(window.check(1500, 60, 999), Err(Rejection::LifetimeTooLong));
    }

    #[test]
    fn lifetime_claims_are_required() {
        assert_eq!(Lifetime::from_claims(&claims(json!({"exp": 1}))), Err(Rejection::MissingClaim("nbf")));
        assert_eq!(Lifetime::from_claims(&claims(json!({"nbf": 1}))), Err(Rejection::MissingClaim("exp")));
        assert_eq!(
            Lifetime::from_claims(&claims(json!({"nbf": 1, "exp": "soon"}))),
            Err(Rejection::BadClaim("exp"))
        );
    }

    #[test]
    fn scopes_are_exact_words_and_all_are_required() {
        let required = ["Teams.ManageCalls", "Teams.ManageChats"];
        assert_eq!(
            check_scopes(&claims(json!({"scp": "Teams.ManageChats Teams.ManageCalls"})), &required),
            Ok(())
        );
        assert_eq!(
            check_scopes(&claims(json!({"scp": "Teams.ManageCalls"})), &required),
            Err(Rejection::Scope)
        );
        assert_eq!(
            check_scopes(&claims(json!({"scp": "teams.managecalls Teams.ManageChats"})), &required),
            Err(Rejection::Scope)
        );
        assert_eq!(
            check_scopes(&claims(json!({"scp": "Teams.ManageCallsX Teams.ManageChats"})), &required),
            Err(Rejection::Scope)
        );
        assert_eq!(check_scopes(&claims(json!({"roles": ["x"]})), &required), Err(Rejection::AppOnly));
        assert_eq!(
            check_scopes(
                &claims(json!({"idtyp": "app", "scp": "Teams.ManageCalls Teams.ManageChats"})),
                &required
            ),
            Err(Rejection::AppOnly)
        );
    }

    #[test]
    fn mixing_v1_and_v2_app_claims_is_refused() {
        let id = "11111111-1111-1111-1111-111111111111";
        assert_eq!(check_app_claim_version(&claims(json!({"appid": id})), TokenVersion::V1), Ok(()));
        assert_eq!(check_app_claim_version(&claims(json!({"azp": id})), TokenVersion::V2), Ok(()));
        assert_eq!(check_app_claim_version(&claims(json!({})), TokenVersion::V1), Ok(()));
        assert_eq!(
            check_app_claim_version(&claims(json!({"azp": id})), TokenVersion::V1),
            Err(Rejection::Version)
        );
        assert_eq!(
            check_app_claim_version(&claims(json!({"appid": id, "azp": id})), TokenVersion::V1),
            Err(Rejection::Version)
        );
        assert_eq!(
            check_app_claim_version(&claims(json!({"appid": id})), TokenVersion::V2),
            Err(Rejection::Version)
        );
    }

    #[test]
    fn the_app_id_is_read_from_the_versions_claim_only() {
        let id = uuid::uuid!("11111111-1111-1111-1111-111111111111");
        let other = "22222222-2222-2222-2222-222222222222";
        assert_eq!(app_id(&claims(json!({"appid": id.to_string()})), TokenVersion::V1), Ok(id));
        assert_eq!(app_id(&claims(json!({"azp": id.to_string()})), TokenVersion::V2), Ok(id));
        // No second version check: the other claim is ignored here (the validator refused it already).
        assert_eq!(app_id(&claims(json!({"appid": id.to_string(), "azp": other})), TokenVersion::V1), Ok(id));
        assert_eq!(app_id(&claims(json!({"azp": id.to_string(), "appid": other})), TokenVersion::V2), Ok(id));
        assert_eq!(
            app_id(&claims(json!({"azp": other})), TokenVersion::V1),
            Err(Rejection::MissingClaim("appid"))
        );
        assert_eq!(app_id(&claims(json!({})), TokenVersion::V2), Err(Rejection::MissingClaim("azp")));
        assert_eq!(
            app_id(&claims(json!({"appid": "x"})), TokenVersion::V1),
            Err(Rejection::BadClaim("appid"))
        );
    }

    #[test]
    fn guid_claims_must_be_hyphenated_guids() {
        assert!(guid(&claims(json!({"oid": "11111111-1111-1111-1111-111111111111"})), "oid").is_ok());
        for bad in [
            json!("111111111111111111111111111111111"),
            json!("{11111111-1111-1111-1111-111111111111}"),
            json!(5),
        ] {
            assert_eq!(guid(&claims(json!({"oid": bad})), "oid"), Err(Rejection::BadClaim("oid")));
        }
    }

    #[test]
    fn the_audience_is_one_exact_string() {
        let accepted = ["https://auth.msft.communication.azure.com"];
        assert!(
            check_audience(&claims(json!({"aud": "https://auth.msft.communication.azure.com"})), &accepted)
                .is_ok()
        );
        for bad in [
            json!("https://auth.msft.communication.azure.com/"),
            json!(["https://auth.msft.communication.azure.com"]),
            json!("https://graph.microsoft.com"),
        ] {
            assert_eq!(check_audience(&claims(json!({"aud": bad})), &accepted), Err(Rejection::Audience));
        }
    }
}
