//! Webhook answers, allow and deny alike, reused for the policy's `cache_for`. Identical concurrent
//! checks share one call; failures are never cached, so an outage ends as soon as the vendor is back.
//!
//! The key holds the tenant, the user (Entra tenant, object id, app), the webhook URL and a SHA-256
//! of B, so an answer about one artifact is never reused for another. Forgetting a tenant bumps its
//! generation, which is part of the key: a call still in flight at that moment lands under the old
//! generation and is never read.
//!
//! The answers are bounded by the memory they take (about 650 bytes each). The generations are one
//! number per tenant forgotten since the process started: bounded by the registry's slugs.

use std::{
    collections::HashMap,
    mem::size_of,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use jose::weight;
use moka::{Expiry, future::Cache};
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use crate::{AuthzError, Subject};

/// The longest an answer is reused, whatever a policy says: revocations at the vendor must land.
pub const MAX_KEEP_FOR: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, PartialEq, Eq, Hash)]
struct DecisionKey {
    tenant: String,
    generation: u64,
    tid: Uuid,
    oid: Uuid,
    app_id: Uuid,
    url: Url,
    bearer: [u8; 32],
}

#[derive(Clone, Copy)]
struct Answer {
    allow: bool,
    keep_for: Duration,
}

/// What one answer costs: moka's bookkeeping, the key with its tenant's and URL's texts (each one
/// allocation, counted with the allocator's header and rounding), and the answer.
fn weigh(key: &DecisionKey, _answer: &Answer) -> u32 {
    let texts = weight::text(&key.tenant) + weight::text(key.url.as_str());
    weight::to_weight(weight::ENTRY_OVERHEAD + size_of::<DecisionKey>() + texts + size_of::<Answer>())
}

/// Each answer lives for its own policy's `cache_for`.
struct KeepFor;

impl Expiry<DecisionKey, Answer> for KeepFor {
    fn expire_after_create(&self, _key: &DecisionKey, answer: &Answer, _at: Instant) -> Option<Duration> {
        Some(answer.keep_for)
    }
}

/// A decision and whether this check asked for it (`false`: reused or shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub allow: bool,
    pub asked: bool,
}

pub struct DecisionCache {
    answers: Cache<DecisionKey, Answer>,
    generations: Mutex<HashMap<String, u64>>,
}

impl DecisionCache {
    /// Answers taking at most `max_bytes`; the least used go first.
    pub fn new(max_bytes: u64) -> Self {
        let answers = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(weigh)
            .expire_after(KeepFor)
            .support_invalidation_closures()
            .build();
        Self { answers, generations: Mutex::new(HashMap::new()) }
    }

    /// The cached answer for this user, URL and B, or the one `ask` gives (cached for `keep_for`,
    /// at most [`MAX_KEEP_FOR`]; zero neither caches nor shares).
    pub async fn decide<F>(
        &self,
        subject: &Subject,
        url: &Url,
        bearer: &str,
        keep_for: Duration,
        ask: F,
    ) -> Result<Outcome, AuthzError>
    where
        F: Future<Output = Result<bool, AuthzError>>,
    {
        let keep_for = keep_for.min(MAX_KEEP_FOR);
        if keep_for.is_zero() {
            return ask.await.map(|allow| Outcome { allow, asked: true });
        }
        let key = DecisionKey {
            tenant: subject.tenant.clone(),
            generation: self.generation(&subject.tenant),
            tid: subject.tid,
            oid: subject.oid,
            app_id: subject.app_id,
            url: url.clone(),
            bearer: Sha256::digest(bearer.as_bytes()).into(),
        };
        let entry = self
            .answers
            .entry(key)
            .or_try_insert_with(async { ask.await.map(|allow| Answer { allow, keep_for }) })
            .await
            .map_err(|shared| AuthzError::clone(&shared))?;
        Ok(Outcome { allow: entry.value().allow, asked: entry.is_fresh() })
    }

    /// Answers about `tenant` are not reused any more, including those of calls still in flight.
    pub fn forget_tenant(&self, tenant: &str) {
        {
            let mut generations = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
            let generation = generations.entry(tenant.to_owned()).or_default();
            *generation = generation.wrapping_add(1);
        }
        let tenant = tenant.to_owned();
        if let Err(error) = self.answers.invalidate_entries_if(move |key, _| key.tenant == tenant) {
            tracing::error!(%error, "could not drop a tenant's cached decisions");
        }
    }

    fn generation(&self, tenant: &str) -> u64 {
        let generations = self.generations.lock().unwrap_or_else(PoisonError::into_inner);
        generations.get(tenant).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(oid: u128) -> Subject {
        Subject {
            tenant: "fabrikam".into(),
            tid: Uuid::from_u128(1),
            oid: Uuid::from_u128(oid),
            app_id: Uuid::nil(),
        }
    }

    fn key(tenant: &str, url: &str) -> DecisionKey {
        DecisionKey {
            tenant: tenant.into(),
            generation: 0,
            tid: Uuid::nil(),
            oid: Uuid::nil(),
            app_id: Uuid::nil(),
            url: Url::parse(url).unwrap(),
            bearer: [0; 32],
        }
    }

    #[test]
    fn an_answer_weighs_moka_s_share_its_key_with_its_texts_and_the_answer() {
        let answer = Answer { allow: true, keep_for: Duration::from_secs(60) };
        let short = weigh(&key("fabrikam", "https://auth.contoso.example/decide"), &answer) as usize;
        let texts = 32 + 48;
        assert_eq!(short, weight::ENTRY_OVERHEAD + size_of::<DecisionKey>() + texts + size_of::<Answer>());
        let long =
            weigh(&key("fabrikam", &format!("https://auth.contoso.example/{}", "d".repeat(100))), &answer);
        assert_eq!(long as usize - short, 144 - 48, "129 bytes of URL in 144 instead of 35 in 48");
    }

    #[tokio::test]
    async fn answers_beyond_the_budget_are_evicted() {
        let url = Url::parse("https://auth.contoso.example/decide").unwrap();
        let per_answer = u64::from(weigh(
            &key("fabrikam", url.as_str()),
            &Answer { allow: true, keep_for: Duration::ZERO },
        ));
        let cache = DecisionCache::new(10 * per_answer);
        for oid in 0..50 {
            let asked =
                cache.decide(&subject(oid), &url, "b", Duration::from_secs(60), async { Ok(true) }).await;
            assert_eq!(asked, Ok(Outcome { allow: true, asked: true }));
        }
        cache.answers.run_pending_tasks().await;
        assert!(cache.answers.weighted_size() <= 10 * per_answer, "{}", cache.answers.weighted_size());
        assert!((1..=10).contains(&cache.answers.entry_count()), "{}", cache.answers.entry_count());
    }
}
