//! B verified once: under the `jwt` and `entra` policies a B that passed for one tenant version and
//! one user (Entra tenant, object id, app) is accepted again from memory until its own `exp`, never
//! past A1's expiry nor longer than an hour (as long as a verified A1 is kept). The key is a SHA-256 of
//! the tenant, its version, the user and B, so any change to the tenant (its policy above all) and any
//! other user or B is checked afresh; a refusal is never remembered, so a bad B pays its check every
//! time. `webhook` answers have their own cache in `authz`, for the policy's `cacheSeconds`.

use std::{
    mem::size_of,
    time::{Duration, Instant},
};

use moka::{Expiry, sync::Cache};
use registry::weight;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The longest a verified B is accepted from memory, whatever its `exp` says.
pub const MAX_KEEP: Duration = Duration::from_secs(3600);

/// One check of B: the tenant's policy at one version, for the user A1 proved.
pub struct BCheck<'a> {
    pub tenant: Uuid,
    pub version: i64,
    pub policy: &'a authz::Policy,
    pub bearer: Option<&'a str>,
    pub subject: &'a authz::Subject,
    /// A1's `exp`, seconds since the epoch.
    pub a1_expires_at: i64,
}

pub struct VerifiedBs {
    /// Each entry lives for the time it holds.
    entries: Cache<[u8; 32], Duration>,
}

struct KeepFor;

impl Expiry<[u8; 32], Duration> for KeepFor {
    fn expire_after_create(&self, _: &[u8; 32], keep_for: &Duration, _: Instant) -> Option<Duration> {
        Some(*keep_for)
    }
}

/// What one remembered B costs: moka's bookkeeping, the key and the time it holds.
fn weigh(_key: &[u8; 32], _keep_for: &Duration) -> u32 {
    weight::to_weight(weight::ENTRY_OVERHEAD + size_of::<[u8; 32]>() + size_of::<Duration>())
}

impl VerifiedBs {
    /// Remembered Bs taking at most `max_bytes`; the least used go first.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            entries: Cache::builder().max_capacity(max_bytes).weigher(weigh).expire_after(KeepFor).build(),
        }
    }

    /// Applies the policy to B with `authorizer`, unless this very B already passed it for this
    /// tenant version and user.
    pub async fn check(
        &self,
        authorizer: &authz::Authorizer,
        check: &BCheck<'_>,
    ) -> Result<(), authz::AuthzError> {
        let key = match check.bearer {
            Some(b) if remembered_kind(check.policy) => Some(key(check, b)),
            _ => None,
        };
        if key.is_some_and(|key| self.entries.get(&key).is_some()) {
            return Ok(());
        }
        let decision = authorizer.check(check.policy, check.bearer, check.subject).await?;
        if let (Some(key), authz::Decision::Allowed { expires_at, .. }) = (key, decision) {
            let keep = keep_for(chrono::Utc::now().timestamp(), expires_at, check.a1_expires_at);
            if !keep.is_zero() {
                self.entries.insert(key, keep);
            }
        }
        Ok(())
    }
}

/// The policies whose verdict on B depends only on B, the tenant's settings, the user and signing
/// keys (which stay trusted for a key TTL after they were last listed, longer than a B is kept).
fn remembered_kind(policy: &authz::Policy) -> bool {
    matches!(policy.kind(), authz::PolicyKind::Jwt | authz::PolicyKind::Entra)
}

fn key(check: &BCheck<'_>, b: &str) -> [u8; 32] {
    let subject = check.subject;
    let mut hasher = Sha256::new();
    hasher.update(check.tenant.as_bytes());
    hasher.update(check.version.to_be_bytes());
    hasher.update(subject.tid.as_bytes());
    hasher.update(subject.oid.as_bytes());
    hasher.update(subject.app_id.as_bytes());
    hasher.update(b.as_bytes());
    hasher.finalize().into()
}

/// How long a B verified at `now` is accepted again: until its `exp` (as the policy read it) and A1's,
/// at most [`MAX_KEEP`]. Zero means "do not remember".
fn keep_for(now: i64, b_expires_at: Option<i64>, a1_expires_at: i64) -> Duration {
    let Some(b_expires_at) = b_expires_at else { return Duration::ZERO };
    let seconds = u64::try_from(b_expires_at.min(a1_expires_at) - now).unwrap_or(0);
    Duration::from_secs(seconds).min(MAX_KEEP)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;

    const TID: Uuid = Uuid::from_u128(1);
    const USER: Uuid = Uuid::from_u128(2);
    const APP: Uuid = Uuid::from_u128(3);
    const TENANT: Uuid = Uuid::from_u128(4);

    /// An Entra verifier that counts its verifications and accepts every token for `USER` (reporting
    /// the `exp` of its payload), or for nobody.
    struct Counting {
        calls: AtomicUsize,
        accept: bool,
    }

    #[async_trait::async_trait]
    impl authz::EntraTokenVerifier for Counting {
        async fn verify(
            &self,
            token: &str,
            tid: Uuid,
            _: &str,
            _: &[String],
        ) -> Result<authz::VerifiedEntraToken, authz::Refusal> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match self.accept {
                true => Ok(authz::VerifiedEntraToken { tid, oid: USER, expires_at: exp_of(token) }),
                false => Err(authz::Refusal::Invalid { reason: "expired", detail: "token expired".into() }),
            }
        }
    }

    fn authorizer(accept: bool) -> (authz::Authorizer, Arc<Counting>) {
        let verifier = Arc::new(Counting { calls: AtomicUsize::new(0), accept });
        (authz::Authorizer::new(authz::AuthorizerConfig::default(), verifier.clone()).unwrap(), verifier)
    }

    fn policy() -> authz::Policy {
        authz::Policy::Entra { audience: "api://contoso".into(), required_scopes: vec![] }
    }

    fn subject(oid: Uuid) -> authz::Subject {
        authz::Subject { tenant: "fabrikam".into(), tid: TID, oid, app_id: APP }
    }

    fn exp_of(token: &str) -> i64 {
        let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
        serde_json::from_slice::<serde_json::Value>(&payload).unwrap()["exp"].as_i64().unwrap()
    }

    fn b_expiring_in(seconds: i64) -> String {
        let exp = chrono::Utc::now().timestamp() + seconds;
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#)))
    }

    fn check<'a>(
        version: i64,
        b: &'a str,
        subject: &'a authz::Subject,
        policy: &'a authz::Policy,
    ) -> BCheck<'a> {
        let a1_expires_at = chrono::Utc::now().timestamp() + 3600;
        BCheck { tenant: TENANT, version, policy, bearer: Some(b), subject, a1_expires_at }
    }

    #[tokio::test]
    async fn a_repeated_b_is_verified_once_and_again_under_a_new_tenant_version() {
        let (authorizer, verifier) = authorizer(true);
        let (bs, policy, user, b) = (VerifiedBs::new(1 << 20), policy(), subject(USER), b_expiring_in(600));

        for _ in 0..3 {
            bs.check(&authorizer, &check(1, &b, &user, &policy)).await.unwrap();
        }
        assert_eq!(verifier.calls.load(Ordering::SeqCst), 1, "verified once for version 1");

        bs.check(&authorizer, &check(2, &b, &user, &policy)).await.unwrap();
        assert_eq!(verifier.calls.load(Ordering::SeqCst), 2, "version 2 verifies it again");
    }

    #[tokio::test]
    async fn the_same_b_for_another_user_is_checked_and_refused() {
        let (authorizer, verifier) = authorizer(true);
        let (bs, policy, b) = (VerifiedBs::new(1 << 20), policy(), b_expiring_in(600));
        let (user, other) = (subject(USER), subject(Uuid::from_u128(99)));
        bs.check(&authorizer, &check(1, &b, &user, &policy)).await.unwrap();

        let refused = bs.check(&authorizer, &check(1, &b, &other, &policy)).await;

        assert_eq!(refused, Err(authz::AuthzError::UserMismatch));
        assert_eq!(verifier.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refusal_is_never_remembered() {
        let (authorizer, verifier) = authorizer(false);
        let (bs, policy, user, b) = (VerifiedBs::new(1 << 20), policy(), subject(USER), b_expiring_in(600));
        for _ in 0..2 {
            assert!(bs.check(&authorizer, &check(1, &b, &user, &policy)).await.is_err());
        }
        assert_eq!(verifier.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_b_expiring_now_is_verified_every_time() {
        let (authorizer, verifier) = authorizer(true);
        let (bs, policy, user, b) = (VerifiedBs::new(1 << 20), policy(), subject(USER), b_expiring_in(0));
        for _ in 0..2 {
            bs.check(&authorizer, &check(1, &b, &user, &policy)).await.unwrap();
        }
        assert_eq!(verifier.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_b_is_kept_until_its_exp_or_a1s_and_at_most_an_hour() {
        let now = 1_700_000_000;
        assert_eq!(keep_for(now, Some(now + 600), now + 900), Duration::from_secs(600));
        assert_eq!(keep_for(now, Some(now + 900), now + 600), Duration::from_secs(600));
        assert_eq!(keep_for(now, Some(now + 86_400), now + 86_400), MAX_KEEP);
        assert_eq!(keep_for(now, Some(now - 1), now + 600), Duration::ZERO);
        assert_eq!(keep_for(now, None, now + 600), Duration::ZERO);
    }

    #[test]
    fn a_remembered_b_weighs_moka_s_share_its_key_and_its_time() {
        assert_eq!(weigh(&[0; 32], &MAX_KEEP) as usize, weight::ENTRY_OVERHEAD + 32 + 16);
    }

    #[tokio::test]
    async fn bs_beyond_the_budget_are_evicted() {
        let (authorizer, _) = authorizer(true);
        let (policy, b) = (policy(), b_expiring_in(600));
        let per_entry = u64::from(weigh(&[0; 32], &MAX_KEEP));
        let bs = VerifiedBs::new(10 * per_entry);
        for version in 0..50 {
            bs.check(&authorizer, &check(version, &b, &subject(USER), &policy)).await.unwrap();
        }
        bs.entries.run_pending_tasks();
        assert!(bs.entries.weighted_size() <= 10 * per_entry, "{}", bs.entries.weighted_size());
        assert!((1..=10).contains(&bs.entries.entry_count()), "{}", bs.entries.entry_count());
    }
}
