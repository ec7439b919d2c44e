//! The scenarios of `--scenario`, and what each one sends: which tokens, by which route, whether a
//! warm-up fills the caches first, and whether each token is sent once (every request a miss) or in
//! turn for as long as the run lasts.

use clap::ValueEnum;

use super::tokens::Flaw;

/// What a run measures. Every scenario but `floor` puts the `entra` B policy on its tenants (see
/// [`super::tokens::b_policy`]), so each exchange carries an A1 and a B that are both checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Every A1 new (and its B): full validation of both, one ACS call per request.
    Miss,
    /// The same A1s and Bs in turn after a warm-up: answers from the caches.
    Hit,
    /// A1 signed with a key the issuer never published: refused (401) after one signature check.
    ForgedA1,
    /// A valid (cached) A1 with a B signed by an unpublished key: refused (401).
    ForgedB,
    /// A1 expired an hour ago: refused (401).
    ExpiredA1,
    /// Misses through the drop-in for the ACS hero sample, `GET /api/token/teams`.
    HeroGet,
    /// `--tenants` tenants created through the admin API, each its own Entra tenant, then traffic
    /// spread over all of them (a cold pass, then measured cache hits).
    ManyTenants,
    /// Misses without, then with, `--patches-per-second` PATCHes of the tenant under load.
    AdminWrites,
    /// The unavoidable work of one exchange measured by itself on one thread: two RS256
    /// verifications, one HMAC-SHA256 of an ACS request, one keep-alive round trip to the emulator.
    Floor,
}

/// How the gateway is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/tenants/{tenant}/token/teams` with `{token, appId, userId}`.
    Post,
    /// `GET /api/token/teams` with `teams-user-aad-token` and `X-Tenant`.
    HeroGet,
}

/// What an exchange scenario sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub flaw: Flaw,
    pub route: Route,
    /// Send every token once before measuring (unless `--no-warmup`).
    pub warm_up: bool,
    /// Each token at most once while measuring, so every request is a cache miss.
    pub each_token_once: bool,
    /// Token pairs minted when `--distinct-tokens` is not given.
    pub default_tokens: usize,
}

/// Enough fresh tokens for a few seconds of misses at the goal's 10 000/s.
const MISS_TOKENS: usize = 20_000;
/// Cycled tokens: enough to spread over many users, few enough to mint quickly.
const CYCLED_TOKENS: usize = 1_000;

impl Scenario {
    /// The plan of a scenario that exchanges tokens with the demo tenant; `None` for the ones that
    /// work differently (`many-tenants`, `floor`).
    pub fn plan(self) -> Option<Plan> {
        let misses = |route| Plan {
            flaw: Flaw::None,
            route,
            warm_up: false,
            each_token_once: true,
            default_tokens: MISS_TOKENS,
        };
        let cycled = |flaw| Plan {
            flaw,
            route: Route::Post,
            warm_up: true,
            each_token_once: false,
            default_tokens: CYCLED_TOKENS,
        };
        match self {
            Self::Miss | Self::AdminWrites => Some(misses(Route::Post)),
            Self::HeroGet => Some(misses(Route::HeroGet)),
            Self::Hit => Some(cycled(Flaw::None)),
            Self::ForgedA1 => Some(cycled(Flaw::ForgedA1)),
            Self::ForgedB => Some(cycled(Flaw::ForgedB)),
            Self::ExpiredA1 => Some(cycled(Flaw::ExpiredA1)),
            Self::ManyTenants | Self::Floor => None,
        }
    }

    /// The name as `--scenario` takes it.
    pub fn name(self) -> String {
        self.to_possible_value().map(|value| value.get_name().to_owned()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_send_each_new_token_once_without_a_warm_up() {
        for scenario in [Scenario::Miss, Scenario::HeroGet, Scenario::AdminWrites] {
            let plan = scenario.plan().unwrap();
            assert!(plan.each_token_once && !plan.warm_up, "{scenario:?}");
            assert_eq!((plan.flaw, plan.default_tokens), (Flaw::None, MISS_TOKENS), "{scenario:?}");
        }
        assert_eq!(Scenario::HeroGet.plan().unwrap().route, Route::HeroGet);
        assert_eq!(Scenario::Miss.plan().unwrap().route, Route::Post);
    }

    #[test]
    fn hits_and_refusals_warm_up_then_send_their_tokens_in_turn() {
        let cases = [
            (Scenario::Hit, Flaw::None),
            (Scenario::ForgedA1, Flaw::ForgedA1),
            (Scenario::ForgedB, Flaw::ForgedB),
            (Scenario::ExpiredA1, Flaw::ExpiredA1),
        ];
        for (scenario, flaw) in cases {
            let plan = scenario.plan().unwrap();
            assert!(plan.warm_up && !plan.each_token_once, "{scenario:?}");
            assert_eq!((plan.flaw, plan.route), (flaw, Route::Post), "{scenario:?}");
        }
        assert_eq!(Scenario::ManyTenants.plan(), None);
        assert_eq!(Scenario::Floor.plan(), None);
    }

    #[test]
    fn scenario_names_are_the_kebab_case_ones_the_issue_uses() {
        let names: Vec<String> = Scenario::value_variants().iter().map(|s| s.name()).collect();
        let expected = [
            "miss",
            "hit",
            "forged-a1",
            "forged-b",
            "expired-a1",
            "hero-get",
            "many-tenants",
            "admin-writes",
            "floor",
        ];
        assert_eq!(names, expected);
        assert_eq!(Scenario::from_str("forged-b", false), Ok(Scenario::ForgedB));
        assert!(Scenario::from_str("forged", false).is_err());
    }
}
