//! The whole validation of one Entra access token (reference: entra-validation.md section 1.5), in
//! order: format and header, the unverified `ver`/`tid` only to choose the key source (the tenant is
//! checked against the authority before anything is fetched), the key and the signature, the issuer
//! (from the metadata that named the key, `{tenantid}` filled in with the token's tenant) and the
//! key's own issuer, then the claims. Which document and key set serve a token is `sources`' to say.

use std::{sync::Arc, time::Duration};

use jose::{clock::Clock, json::JsonObject};
use jsonwebtoken::Algorithm;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use crate::{
    Rejection,
    claims::{self, Lifetime, TokenVersion},
    jws,
    observe::Observer,
    sources::{KeySources, TENANT_TEMPLATE},
};

/// The Microsoft personal-accounts tenant; the Teams exchange does not serve it.
pub const CONSUMER_TENANT: Uuid = uuid::uuid!("9188040d-6c67-4c5b-b112-36a304b66dad");

#[derive(Clone)]
pub struct ValidatorConfig {
    /// `https://login.microsoftonline.com`, a sovereign cloud, or the dev issuer.
    pub authority_host: Url,
    pub http_timeout: Duration,
    pub leeway: Duration,
    pub max_lifetime: Duration,
    pub key_ttl: Duration,
    /// The least time between two fetches of one key set caused by unknown kids; also the longest
    /// cool-down of a metadata document after consecutive failed fetches.
    pub refresh_cooldown: Duration,
    pub metadata_refresh: Duration,
    /// The cool-down of a metadata document after one failed fetch: short, so a failure on a cold
    /// start (no last good document to serve) does not refuse its authority for long. Doubled for
    /// each further consecutive failure, up to `refresh_cooldown`; reset by a successful fetch.
    pub metadata_failure_cooldown: Duration,
    pub verified_cache_capacity: u64,
    /// How many of tenants' own metadata documents are kept, and as many of their own key sets (a
    /// tenant's v1 and v2 ones count apart), each dropped when unused for a key TTL. Only a token
    /// whose key the shared set lacks makes one: a tenant signing with keys of its own, or a forged
    /// kid.
    pub tenant_sources_capacity: u64,
    pub observer: Observer,
    /// Whether OpenID metadata may name a plain-http key set: the operator's allow-insecure switch
    /// (development only, as in the devstack). Off by default, whatever the authority host's scheme.
    pub allow_insecure_http: bool,
    /// Measures key and metadata ages and cool-downs, and is "now" for token lifetimes: the real
    /// clock, or a manual one in tests. (Verified tokens live in a moka cache, which keeps its own
    /// time; a hit is still checked against this clock's now.)
    pub clock: Clock,
}

impl ValidatorConfig {
    pub fn new(authority_host: Url) -> Self {
        Self {
            authority_host,
            http_timeout: Duration::from_secs(5),
            leeway: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(28 * 3600),
            key_ttl: Duration::from_secs(24 * 3600),
            refresh_cooldown: Duration::from_secs(300),
            metadata_refresh: Duration::from_secs(3600),
            metadata_failure_cooldown: Duration::from_secs(10),
            verified_cache_capacity: 100_000,
            tenant_sources_capacity: 1_000,
            observer: crate::observe::ignore(),
            allow_insecure_http: false,
            clock: Clock::real(),
        }
    }
}

/// Which Entra tenants a SaaS tenant's users come from.
#[derive(Debug, Clone, Copy)]
pub enum Authority<'a> {
    Tenant(Uuid),
    Organizations(&'a [Uuid]),
}

impl Authority<'_> {
    fn segment(&self) -> String {
        match self {
            Self::Tenant(id) => id.hyphenated().to_string(),
            Self::Organizations(_) => "organizations".to_owned(),
        }
    }

    fn accepts(&self, tid: &Uuid) -> bool {
        match self {
            Self::Tenant(id) => id == tid,
            Self::Organizations(allowed) => allowed.contains(tid),
        }
    }
}

/// The client app a token must be issued to: on the tenant's allow-list and, when the caller names
/// one, the one it claims.
#[derive(Debug, Clone, Copy)]
pub struct AppExpectation<'a> {
    pub claimed: Option<Uuid>,
    pub allowed: &'a [Uuid],
}

/// What a token must be for this request.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    pub authority: Authority<'a>,
    pub audiences: &'a [&'a str],
    pub required_scopes: &'a [&'a str],
    /// `oid` must equal this user.
    pub user: Option<Uuid>,
    pub app: Option<AppExpectation<'a>>,
}

/// A token that passed every check; what logs and the exchange may use of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedToken {
    pub version: TokenVersion,
    pub tid: Uuid,
    pub oid: Uuid,
    pub app_id: Option<Uuid>,
    pub uti: Option<String>,
    pub kid: String,
    pub expires_at: i64,
}

/// The claims the checks after the signature read; see `check_claims`.
const PER_REQUEST_CLAIMS: &[&str] =
    &["aud", "nbf", "exp", "scp", "idtyp", "roles", "oid", "appid", "azp", "uti"];

/// Claims whose signature, issuer and key issuer were verified.
struct Verified {
    version: TokenVersion,
    tid: Uuid,
    claims: JsonObject,
    kid: String,
    /// Whether the user is a member of the issuing tenant (`idp`, when present, is `iss`).
    member: Result<(), Rejection>,
}

pub struct Validator {
    config: ValidatorConfig,
    sources: KeySources,
    verified: Cache<[u8; 32], Arc<Verified>>,
}

impl Validator {
    pub fn new(config: ValidatorConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.http_timeout)
            .timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            sources: KeySources::new(&http, &config),
            verified: Cache::builder()
                .max_capacity(config.verified_cache_capacity)
                .time_to_live(Duration::from_secs(3600))
                .build(),
            config,
        })
    }

    pub async fn validate(
        &self,
        token: &str,
        expect: &Expectations<'_>,
    ) -> Result<ValidatedToken, Rejection> {
        // A token verified before is not parsed again: the cache is asked first (a token that was
        // refused is never in it), and what depends on the request is checked either way.
        let cache_key = cache_key(token, &expect.authority.segment());
        let verified = match self.verified.get(&cache_key) {
            Some(verified) => {
                Self::check_tenant(verified.tid, expect)?;
                verified
            }
            None => {
                let jws = jws::parse(token)?;
                let version = TokenVersion::from_claims(&jws.claims)?;
                let tid = claims::guid(&jws.claims, "tid")?;
                Self::check_tenant(tid, expect)?;
                let verified = Arc::new(self.verify(jws, version, tid).await?);
                self.verified.insert(cache_key, verified.clone());
                verified
            }
        };
        self.check_claims(&verified, expect)
    }

    /// The token's tenant: never the consumer one, and one the authority accepts (an allow-list may
    /// change between two requests with the same token). Before any key is fetched.
    fn check_tenant(tid: Uuid, expect: &Expectations<'_>) -> Result<(), Rejection> {
        if tid == CONSUMER_TENANT {
            return Err(Rejection::ConsumerTenant);
        }
        if !expect.authority.accepts(&tid) {
            return Err(Rejection::TenantNotAllowed);
        }
        Ok(())
    }

    /// Signature, issuer and key issuer: what depends only on the token (its tenant already accepted
    /// by the authority).
    async fn verify(
        &self,
        jws: jws::Jws<'_>,
        version: TokenVersion,
        tid: Uuid,
    ) -> Result<Verified, Rejection> {
        let (metadata, key) = self.sources.key(version, tid, &jws.kid).await?;
        let valid = jsonwebtoken::crypto::verify(
            jws.signature,
            jws.signing_input.as_bytes(),
            &key.key,
            Algorithm::RS256,
        )
        .unwrap_or(false);
        if !valid {
            return Err(Rejection::Signature);
        }
        let tid_text = tid.hyphenated().to_string();
        let expected_issuer = metadata.issuer.replace(TENANT_TEMPLATE, &tid_text);
        let iss = claims::string(&jws.claims, "iss")?;
        if iss != expected_issuer {
            return Err(Rejection::Issuer);
        }
        if let Some(key_issuer) = &key.issuer
            && key_issuer.replace(TENANT_TEMPLATE, &tid_text) != iss
        {
            return Err(Rejection::Issuer);
        }
        let member = claims::check_home_tenant(&jws.claims, iss);
        let mut claims = jws.claims;
        // The cache keeps only what the per-request checks read (names, `upn`, `iat`... are dropped),
        // and of `roles` only that it is there.
        claims.retain(|name, _| PER_REQUEST_CLAIMS.contains(&name.as_str()));
        if let Some(roles) = claims.get_mut("roles") {
            *roles = serde_json::Value::Bool(true);
        }
        Ok(Verified { version, tid, claims, kid: jws.kid, member })
    }

    fn check_claims(
        &self,
        verified: &Verified,
        expect: &Expectations<'_>,
    ) -> Result<ValidatedToken, Rejection> {
        let (claims, version, tid) = (&verified.claims, verified.version, verified.tid);
        claims::check_audience(claims, expect.audiences)?;
        let lifetime = Lifetime::from_claims(claims)?;
        lifetime.check(
            self.config.clock.unix_seconds(),
            secs(self.config.leeway),
            secs(self.config.max_lifetime),
        )?;
        claims::check_scopes(claims, expect.required_scopes)?;
        // Guests are refused after the scopes, so an app-only token is still reported as one.
        verified.member.clone()?;
        let oid = claims::guid(claims, "oid")?;
        if expect.user.is_some_and(|user| user != oid) {
            return Err(Rejection::UserMismatch);
        }
        // v1 and v2 app claims never mix, whether or not the caller expects an app: checked here
        // once, so `app_id` only reads the version's claim.
        claims::check_app_claim_version(claims, version)?;
        let app_id = match expect.app {
            None => claims::app_id(claims, version).ok(),
            Some(app) => {
                let app_id = claims::app_id(claims, version)?;
                if app.claimed.is_some_and(|claimed| claimed != app_id) {
                    return Err(Rejection::AppMismatch);
                }
                if !app.allowed.contains(&app_id) {
                    return Err(Rejection::AppNotAllowed);
                }
                Some(app_id)
            }
        };
        Ok(ValidatedToken {
            version,
            tid,
            oid,
            app_id,
            uti: claims.get("uti").and_then(|v| v.as_str()).map(str::to_owned),
            kid: verified.kid.clone(),
            expires_at: lifetime.expires_at,
        })
    }

    /// While an OpenID metadata document `authority` depends on cools down after a failed fetch (the
    /// shared ones, and a `Tenant` authority's own), how long until a request may fetch it again:
    /// a hint for the `Retry-After` of an "unavailable" answer. `None` when none is cooling down.
    pub fn metadata_retry_after(&self, authority: Authority<'_>) -> Option<Duration> {
        let tenant = match authority {
            Authority::Tenant(id) => Some(id),
            Authority::Organizations(_) => None,
        };
        self.sources.metadata_retry_after(tenant)
    }

    /// Refreshes every metadata document and key set in use; run about hourly.
    pub async fn refresh(&self) {
        self.sources.refresh().await;
    }

    /// Ages of the signing keys in use, by key source label (see [`crate::observe::KeySource`]) and
    /// kid (for metrics).
    pub fn key_ages(&self) -> Vec<(String, String, Duration)> {
        self.sources.key_ages()
    }
}

fn cache_key(token: &str, segment: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(segment.as_bytes());
    hasher.update([0]);
    hasher.update(token.as_bytes());
    hasher.finalize().into()
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
