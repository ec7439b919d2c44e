//! The claim rules of a `jwt` policy, applied to a token whose signature was verified: who issued it
//! and for whom, when it is valid, the tenant's required claims, and last the binding to A1's user
//! (so `user_mismatch` always means "a valid B, but someone else's").

use std::collections::BTreeMap;

use jose::{
    json::JsonObject,
    lifetime::{CountedFrom, Lifetime, LifetimeRules, numeric_date, required_date},
};
use serde_json::Value;
use uuid::Uuid;

use crate::{AuthzError, Check};

/// What one policy expects of a token's claims.
pub struct Rules<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub user_claim: &'a str,
    pub required: &'a BTreeMap<String, String>,
    pub leeway: i64,
    pub max_lifetime: i64,
    pub now: i64,
}

/// Every claim rule; B's `exp` (seconds since the epoch) when B passes them all.
pub fn check(claims: &JsonObject, rules: &Rules<'_>, oid: Uuid) -> Result<i64, AuthzError> {
    refuse_case_variants(claims, rules)?;
    check_issuer_and_audience(claims, rules)?;
    let expires_at = check_lifetime(claims, rules)?;
    for (name, value) in rules.required {
        if !holds(claims.get(name), value) {
            return Err(match claims.get(name) {
                None => Check::MissingClaim(name.clone()),
                Some(_) => Check::ClaimMismatch(name.clone()),
            }
            .into());
        }
    }
    bind_user(claims, rules.user_claim, oid)?;
    Ok(expires_at)
}

/// `iss` and `aud` spelled twice with different letter case would mean two things to two parsers.
fn refuse_case_variants(claims: &JsonObject, rules: &Rules<'_>) -> Result<(), Check> {
    let fixed = ["iss", "aud", "exp", "nbf", "iat", rules.user_claim];
    for name in fixed.into_iter().chain(rules.required.keys().map(String::as_str)) {
        if claims.keys().filter(|k| k.eq_ignore_ascii_case(name)).count() > 1 {
            return Err(Check::Malformed("a member appears twice"));
        }
    }
    Ok(())
}

fn check_issuer_and_audience(claims: &JsonObject, rules: &Rules<'_>) -> Result<(), Check> {
    match claims.get("iss") {
        None => return Err(Check::MissingClaim("iss".into())),
        Some(Value::String(iss)) if iss == rules.issuer => {}
        Some(_) => return Err(Check::Issuer),
    }
    let accepted = match claims.get("aud") {
        None => return Err(Check::MissingClaim("aud".into())),
        Some(Value::String(aud)) => aud == rules.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(rules.audience)),
        Some(_) => false,
    };
    if accepted { Ok(()) } else { Err(Check::Audience) }
}

/// `exp` is required; `nbf` and `iat` are optional, and neither may lie in the future. Within
/// `leeway` of the clock counts as valid. The lifetime, from `nbf` (else `iat`, else now) to `exp`,
/// is bounded: a long-lived bearer token is refused rather than trusted for days.
/// B's `exp` once its lifetime passed.
fn check_lifetime(claims: &JsonObject, rules: &Rules<'_>) -> Result<i64, Check> {
    let expires_at = required_date(claims, "exp")?;
    let window = Lifetime {
        not_before: numeric_date(claims, "nbf")?,
        issued_at: numeric_date(claims, "iat")?,
        expires_at,
    };
    let clock = LifetimeRules {
        leeway: rules.leeway,
        max_lifetime: rules.max_lifetime,
        counted_from: CountedFrom::StartOrNowWhicheverIsEarlier,
    };
    window.check(rules.now, &clock)?;
    Ok(expires_at)
}

/// The claim is the string, or an array holding it; numbers and booleans never match.
fn holds(claim: Option<&Value>, expected: &str) -> bool {
    match claim {
        Some(Value::String(value)) => value == expected,
        Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(expected)),
        _ => false,
    }
}

/// The user claim must be a string naming A1's `oid`, compared as GUIDs (any casing or braces).
fn bind_user(claims: &JsonObject, user_claim: &str, oid: Uuid) -> Result<(), AuthzError> {
    match claims.get(user_claim) {
        None => Err(Check::MissingClaim(user_claim.to_owned()).into()),
        Some(Value::String(user)) => match Uuid::try_parse(user) {
            Ok(user) if user == oid => Ok(()),
            // Not a GUID: compared exactly with A1's oid, which is one, so never equal.
            _ => Err(AuthzError::UserMismatch),
        },
        Some(_) => Err(Check::BadClaim(user_claim.to_owned()).into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const OID: Uuid = uuid::uuid!("d3e0d3e0-0000-4000-8000-00000000ace1");
    const NOW: i64 = 1_800_000_000;

    /// The verdict, without the `exp` an accepted token yields (checked on its own below).
    fn run(claims: Value, required: &[(&str, &str)]) -> Result<(), AuthzError> {
        verdict(claims, required).map(|_| ())
    }

    fn verdict(claims: Value, required: &[(&str, &str)]) -> Result<i64, AuthzError> {
        let required = required.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let rules = Rules {
            issuer: "https://auth.contoso.example",
            audience: "api://contoso",
            user_claim: "oid",
            required: &required,
            leeway: 60,
            max_lifetime: 24 * 3600,
            now: NOW,
        };
        let Value::Object(map) = claims else { panic!("claims must be an object") };
        check(&map.into_iter().collect(), &rules, OID)
    }

    fn good() -> Value {
        json!({"iss": "https://auth.contoso.example", "aud": "api://contoso", "exp": NOW + 600,
               "nbf": NOW - 60, "iat": NOW - 60, "oid": OID.to_string()})
    }

    fn with(changes: &Value) -> Value {
        let mut claims = good();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    #[test]
    fn a_token_within_its_lifetime_and_leeway_is_accepted() {
        assert_eq!(run(good(), &[]), Ok(()));
        assert_eq!(run(with(&json!({"exp": NOW - 59})), &[]), Ok(()));
        assert_eq!(run(with(&json!({"nbf": NOW + 59, "iat": null})), &[]), Ok(()));
        assert_eq!(run(with(&json!({"exp": (NOW + 600) as f64 + 0.5})), &[]), Ok(()));
    }

    #[test]
    fn an_accepted_token_yields_its_exp_with_a_fraction_cut_off() {
        assert_eq!(verdict(good(), &[]), Ok(NOW + 600));
        assert_eq!(verdict(with(&json!({"exp": (NOW + 600) as f64 + 0.5})), &[]), Ok(NOW + 600));
    }

    #[test]
    fn lifetime_rules_name_the_failed_check() {
        assert_eq!(run(with(&json!({"exp": NOW - 61})), &[]), Err(Check::Expired.into()));
        assert_eq!(run(with(&json!({"nbf": NOW + 61})), &[]), Err(Check::NotYetValid.into()));
        assert_eq!(run(with(&json!({"iat": NOW + 61})), &[]), Err(Check::NotYetValid.into()));
        assert_eq!(run(with(&json!({"exp": null})), &[]), Err(Check::MissingClaim("exp".into()).into()));
        assert_eq!(run(with(&json!({"exp": "soon"})), &[]), Err(Check::BadClaim("exp".into()).into()));
        let too_long = with(&json!({"nbf": null, "iat": null, "exp": NOW + 24 * 3600 + 1}));
        assert_eq!(run(too_long, &[]), Err(Check::LifetimeTooLong.into()));
        let old_start = with(&json!({"nbf": NOW - 24 * 3600, "exp": NOW + 60}));
        assert_eq!(run(old_start, &[]), Err(Check::LifetimeTooLong.into()));
    }

    #[test]
    fn the_audience_may_be_a_string_or_an_array_holding_it() {
        assert_eq!(run(with(&json!({"aud": ["other", "api://contoso"]})), &[]), Ok(()));
        assert_eq!(run(with(&json!({"aud": ["other"]})), &[]), Err(Check::Audience.into()));
        assert_eq!(run(with(&json!({"aud": "api://contoso/"})), &[]), Err(Check::Audience.into()));
        assert_eq!(
            run(with(&json!({"iss": "https://auth.contoso.example/"})), &[]),
            Err(Check::Issuer.into())
        );
    }

    #[test]
    fn claims_spelled_twice_with_different_case_are_refused() {
        let claims = with(&json!({"OID": "00000000-0000-0000-0000-000000000000"}));
        assert_eq!(run(claims, &[]), Err(Check::Malformed("a member appears twice").into()));
    }

    #[test]
    fn the_user_claim_is_compared_as_a_guid() {
        let braced = format!("{{{}}}", OID.to_string().to_uppercase());
        assert_eq!(run(with(&json!({"oid": braced})), &[]), Ok(()));
        assert_eq!(run(with(&json!({"oid": "someone-else"})), &[]), Err(AuthzError::UserMismatch));
        assert_eq!(run(with(&json!({"oid": 42})), &[]), Err(Check::BadClaim("oid".into()).into()));
    }

    #[test]
    fn required_claims_match_strings_and_arrays_but_not_other_types() {
        assert_eq!(run(with(&json!({"role": "caller"})), &[("role", "caller")]), Ok(()));
        assert_eq!(run(with(&json!({"role": ["x", "caller"]})), &[("role", "caller")]), Ok(()));
        let wrong = run(with(&json!({"role": "admin"})), &[("role", "caller")]);
        assert_eq!(wrong, Err(Check::ClaimMismatch("role".into()).into()));
        let typed = run(with(&json!({"premium": true})), &[("premium", "true")]);
        assert_eq!(typed, Err(Check::ClaimMismatch("premium".into()).into()));
        assert_eq!(run(good(), &[("role", "caller")]), Err(Check::MissingClaim("role".into()).into()));
    }
}
