//! The tokens a run sends, minted at the dev issuer: A1 (the Teams user's token for ACS) and B (the
//! same user's token for the vendor's API), good or deliberately bad.

use anyhow::Context as _;
use serde_json::{Value, json};

/// B's audience under the scenarios' policy: the vendor's API.
pub const B_AUDIENCE: &str = "api://acs-loadgen";
/// The scope B must carry.
pub const B_SCOPE: &str = "access_as_user";
/// Mint requests in flight at once.
const MINT_CONCURRENCY: usize = 64;

/// The B policy the scenarios put on their tenants: `entra`, B an Entra access token for the
/// vendor's API from the user's own Entra tenant, RS256 like A1. "B validated" then costs what it
/// costs with the hero sample (one RS256 check), and a miss costs two signature checks in all.
pub fn b_policy() -> Value {
    json!({"type": "entra", "audience": B_AUDIENCE, "requiredScopes": [B_SCOPE]})
}

/// What is wrong with a pair on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    None,
    /// A1 signed by a key the issuer never published, its header naming the published key.
    ForgedA1,
    /// B signed that way.
    ForgedB,
    /// A1 expired an hour ago.
    ExpiredA1,
}

/// Whom a pair is for: an Entra tenant and a user (`oid`) in it.
pub struct Holder {
    pub entra_tenant: String,
    pub user: String,
}

/// An A1 and a B for one user.
pub struct Pair {
    pub a1: String,
    pub b: String,
    pub user: String,
}

/// The Entra user (`oid`) of the `n`th of `users` loadgen users: fixed, so runs are alike.
pub fn user_id(n: usize, users: usize) -> String {
    format!("10ad0000-0000-4000-8000-{:012x}", n % users.max(1))
}

/// A tag for this run's tokens (their `uti`), so that a second run against the same gateway sends
/// tokens it has never seen.
pub fn run_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// The mint request of an A1 for `holder` with `app`, flawed as asked.
pub fn a1_request(holder: &Holder, app: &str, uti: &str, flaw: Flaw) -> Value {
    let mut request = json!({"tenantId": holder.entra_tenant, "oid": holder.user, "appId": app,
        "claims": {"uti": uti}});
    match flaw {
        Flaw::ForgedA1 => request["signing"] = json!("unknown-key"),
        Flaw::ExpiredA1 => request["lifetimeSeconds"] = json!(-3600),
        Flaw::None | Flaw::ForgedB => {}
    }
    request
}

/// The mint request of a B for `holder`, accepted by [`b_policy`] unless forged.
fn b_request(holder: &Holder, app: &str, uti: &str, flaw: Flaw) -> Value {
    let mut request = json!({"tenantId": holder.entra_tenant, "oid": holder.user, "appId": app,
        "audience": B_AUDIENCE, "scopes": [B_SCOPE], "claims": {"uti": uti}});
    if flaw == Flaw::ForgedB {
        request["signing"] = json!("unknown-key");
    }
    request
}

/// One A1 and one B for each holder, in order.
pub async fn mint_pairs(
    client: &reqwest::Client,
    entra_url: &str,
    app: &str,
    holders: Vec<Holder>,
    flaw: Flaw,
) -> anyhow::Result<Vec<Pair>> {
    let tag = run_tag();
    eprintln!("minting {n} A1 and {n} B tokens", n = holders.len());
    let requests = holders.iter().enumerate().flat_map(|(n, holder)| {
        let uti = format!("loadgen-{tag}-{n}");
        [a1_request(holder, app, &uti, flaw), b_request(holder, app, &format!("{uti}-b"), flaw)]
    });
    let tokens = mint(client, entra_url, requests.collect()).await?;
    let pairs = holders.into_iter().zip(tokens.chunks_exact(2)).map(|(holder, pair)| Pair {
        a1: pair[0].clone(),
        b: pair[1].clone(),
        user: holder.user,
    });
    Ok(pairs.collect())
}

/// Mints every request at `POST /dev/tokens`, [`MINT_CONCURRENCY`] at a time; the tokens in order.
pub async fn mint(
    client: &reqwest::Client,
    entra_url: &str,
    requests: Vec<Value>,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{entra_url}/dev/tokens");
    let mut tokens = Vec::with_capacity(requests.len());
    for chunk in requests.chunks(MINT_CONCURRENCY) {
        let sent = chunk.iter().map(|request| client.post(&url).json(request).send());
        for response in futures_util::future::join_all(sent).await {
            let body: Value = response?.error_for_status()?.json().await?;
            tokens.push(body["token"].as_str().context("no token minted")?.to_owned());
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder { entra_tenant: "t".into(), user: "u".into() }
    }

    #[test]
    fn each_flaw_spoils_only_its_own_token() {
        let a1 = |flaw| a1_request(&holder(), "app", "x", flaw);
        let b = |flaw| b_request(&holder(), "app", "x", flaw);
        let (good_a1, good_b) = (a1(Flaw::None), b(Flaw::None));
        assert_eq!((good_a1.get("signing"), good_b.get("signing")), (None, None));
        assert_eq!(good_b["audience"], B_AUDIENCE);
        assert_eq!(a1(Flaw::ForgedA1)["signing"], "unknown-key");
        assert_eq!(b(Flaw::ForgedA1), good_b);
        assert_eq!(b(Flaw::ForgedB)["signing"], "unknown-key");
        assert_eq!(a1(Flaw::ForgedB), good_a1);
        assert_eq!(a1(Flaw::ExpiredA1)["lifetimeSeconds"], -3600);
        assert_eq!(b(Flaw::ExpiredA1), good_b);
    }

    #[test]
    fn users_repeat_after_the_count_asked_for() {
        assert_eq!(user_id(0, 3), user_id(3, 3));
        assert_ne!(user_id(1, 3), user_id(2, 3));
        assert_eq!(user_id(5, 0), user_id(0, 1), "no users means one");
    }
}
