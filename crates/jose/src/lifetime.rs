//! When a token is valid: `exp` is required, neither `nbf` nor `iat` may lie in the future, the clock
//! may be off by a leeway either way, and a token may not be valid for longer than a maximum (a
//! long-lived bearer token is refused rather than trusted for days). Times are NumericDates: seconds
//! since the epoch, where RFC 7519 allows fractions, which are truncated.

use crate::{Refusal, json::JsonObject};

/// The time claims of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// `nbf`, if the token has one.
    pub not_before: Option<i64>,
    /// `iat`, if the validator reads it.
    pub issued_at: Option<i64>,
    /// `exp`.
    pub expires_at: i64,
}

/// Where the maximum lifetime is counted from: the token's start is `nbf`, else `iat`, else now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedFrom {
    /// The token's start, as the token says (`exp - nbf`).
    Start,
    /// The token's start, or now when that is earlier: a token dated ahead within the leeway counts
    /// from now.
    StartOrNowWhicheverIsEarlier,
}

/// A validator's clock rules, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifetimeRules {
    pub leeway: i64,
    pub max_lifetime: i64,
    pub counted_from: CountedFrom,
}

impl Lifetime {
    /// Checks, in order: expired, not yet valid (`nbf` or `iat` ahead), valid for too long.
    pub fn check<N>(&self, now: i64, rules: &LifetimeRules) -> Result<(), Refusal<N>> {
        if now > self.expires_at.saturating_add(rules.leeway) {
            return Err(Refusal::Expired);
        }
        let ahead = |at: Option<i64>| at.is_some_and(|at| at > now.saturating_add(rules.leeway));
        if ahead(self.not_before) || ahead(self.issued_at) {
            return Err(Refusal::NotYetValid);
        }
        let start = self.not_before.or(self.issued_at).unwrap_or(now);
        let start = match rules.counted_from {
            CountedFrom::Start => start,
            CountedFrom::StartOrNowWhicheverIsEarlier => start.min(now),
        };
        if self.expires_at.saturating_sub(start) > rules.max_lifetime {
            return Err(Refusal::LifetimeTooLong);
        }
        Ok(())
    }
}

/// The NumericDate claim `name`, if present.
pub fn numeric_date<N: From<&'static str>>(
    claims: &JsonObject,
    name: &'static str,
) -> Result<Option<i64>, Refusal<N>> {
    let Some(value) = claims.get(name) else { return Ok(None) };
    let seconds = value.as_i64().or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64));
    seconds.map(Some).ok_or_else(|| Refusal::BadClaim(name.into()))
}

/// The NumericDate claim `name`, which the token must have.
pub fn required_date<N: From<&'static str>>(
    claims: &JsonObject,
    name: &'static str,
) -> Result<i64, Refusal<N>> {
    numeric_date(claims, name)?.ok_or_else(|| Refusal::MissingClaim(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: LifetimeRules =
        LifetimeRules { leeway: 60, max_lifetime: 100_000, counted_from: CountedFrom::Start };

    fn window(not_before: i64, expires_at: i64) -> Lifetime {
        Lifetime { not_before: Some(not_before), issued_at: None, expires_at }
    }

    fn check(lifetime: Lifetime, now: i64, rules: &LifetimeRules) -> Result<(), Refusal> {
        lifetime.check(now, rules)
    }

    #[test]
    fn a_token_is_valid_within_its_window_and_the_leeway() {
        assert_eq!(check(window(1000, 2000), 1500, &RULES), Ok(()));
        assert_eq!(check(window(1000, 2000), 2060, &RULES), Ok(()));
        assert_eq!(check(window(1000, 2000), 940, &RULES), Ok(()));
    }

    #[test]
    fn past_the_leeway_a_token_is_expired_or_not_yet_valid() {
        assert_eq!(check(window(1000, 2000), 2061, &RULES), Err(Refusal::Expired));
        assert_eq!(check(window(1000, 2000), 939, &RULES), Err(Refusal::NotYetValid));
        let issued_ahead = Lifetime { not_before: None, issued_at: Some(1061), expires_at: 2000 };
        assert_eq!(check(issued_ahead, 1000, &RULES), Err(Refusal::NotYetValid));
    }

    #[test]
    fn a_lifetime_longer_than_the_maximum_is_refused() {
        let short = LifetimeRules { max_lifetime: 999, ..RULES };
        assert_eq!(check(window(1000, 2000), 1500, &short), Err(Refusal::LifetimeTooLong));
        assert_eq!(check(window(1000, 1999), 1500, &short), Ok(()));
        let undated = Lifetime { not_before: None, issued_at: None, expires_at: 2000 };
        assert_eq!(check(undated, 1000, &short), Err(Refusal::LifetimeTooLong), "counted from now");
    }

    #[test]
    fn a_token_dated_ahead_counts_from_now_only_when_the_rules_say_so() {
        let ahead = window(1030, 2029);
        let short = LifetimeRules { max_lifetime: 999, ..RULES };
        assert_eq!(check(ahead, 1000, &short), Ok(()));
        let from_now = LifetimeRules { counted_from: CountedFrom::StartOrNowWhicheverIsEarlier, ..short };
        assert_eq!(check(ahead, 1000, &from_now), Err(Refusal::LifetimeTooLong));
    }

    #[test]
    fn numeric_dates_are_whole_or_truncated_seconds_and_nothing_else() {
        let Ok(claims) = crate::json::object(br#"{"exp":10.9,"nbf":5,"iat":"soon"}"#) else { panic!() };
        assert_eq!(numeric_date::<&str>(&claims, "exp"), Ok(Some(10)));
        assert_eq!(required_date::<&str>(&claims, "nbf"), Ok(5));
        assert_eq!(numeric_date::<&str>(&claims, "iat"), Err(Refusal::BadClaim("iat")));
        assert_eq!(numeric_date::<&str>(&claims, "auth_time"), Ok(None));
        assert_eq!(
            required_date::<String>(&claims, "auth_time"),
            Err(Refusal::MissingClaim("auth_time".into()))
        );
    }
}
