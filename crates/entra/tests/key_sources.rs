//! Key sources shared across tenants: every tenant's token is verified with the one shared document
//! and key set per token version (`common` for v1, `organizations` for v2), its issuer still checked against its own tenant, and a
//! tenant's own document and key set are asked only for a key the shared set lacks.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

#[allow(dead_code, reason = "each test binary uses part of the shared wiremock Entra")]
mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use entra::{Authority, Rejection, Validator, ValidatorConfig, observe::FetchKind};
use jose::clock::Clock;
use serde_json::{Value, json};
use support::{TestKey, acs, v1_claims, v2_claims, with};
use uuid::Uuid;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path_regex},
};

/// Every tenant's documents and key sets, Entra's way: `organizations` names the `{tenantid}`
/// template, a tenant its own id; every set lists the shared keys, and a tenant's own set also
/// its own keys.
struct Entra {
    server: MockServer,
    shared: Arc<Mutex<Vec<TestKey>>>,
    own: Arc<Mutex<HashMap<Uuid, TestKey>>>,
}

struct Documents {
    base: String,
    /// The issuer `common` and `organizations` name, when not Entra's template.
    shared_issuer: Option<String>,
}

impl Respond for Documents {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let segment = request.url.path().split('/').nth(1).unwrap_or_default();
        let v2 = request.url.path().contains("/v2.0/");
        let tid = if matches!(segment, "organizations" | "common") { "{tenantid}" } else { segment };
        let issuer = match (&self.shared_issuer, segment, v2) {
            (Some(fixed), "organizations" | "common", _) => fixed.clone(),
            (_, _, false) => format!("https://sts.windows.net/{tid}/"),
            (_, _, true) => format!("https://login.microsoftonline.com/{tid}/v2.0"),
        };
        let keys = if v2 { "discovery/v2.0/keys" } else { "discovery/keys" };
        let jwks_uri = format!("{}/{segment}/{keys}", self.base);
        ResponseTemplate::new(200).set_body_json(json!({"issuer": issuer, "jwks_uri": jwks_uri}))
    }
}

struct KeySets {
    shared: Arc<Mutex<Vec<TestKey>>>,
    own: Arc<Mutex<HashMap<Uuid, TestKey>>>,
}

impl Respond for KeySets {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let segment = request.url.path().split('/').nth(1).unwrap_or_default();
        let tid = if matches!(segment, "organizations" | "common") { "{tenantid}" } else { segment };
        let v2 = request.url.path().contains("/v2.0/");
        let issuer = v2.then(|| format!("https://login.microsoftonline.com/{tid}/v2.0"));
        let mut keys: Vec<Value> =
            self.shared.lock().unwrap().iter().map(|key| key.jwk(issuer.as_deref())).collect();
        if let Some(own) =
            Uuid::try_parse(segment).ok().and_then(|tid| self.own.lock().unwrap().get(&tid).cloned())
        {
            keys.push(own.jwk(issuer.as_deref()));
        }
        ResponseTemplate::new(200).set_body_json(json!({"keys": keys}))
    }
}

const SEGMENT: &str = "(organizations|common|[0-9a-f-]{36})";

impl Entra {
    async fn start(shared: &[&TestKey]) -> Self {
        Self::serving(shared, None).await
    }

    async fn serving(shared: &[&TestKey], shared_issuer: Option<&str>) -> Self {
        let server = MockServer::start().await;
        let shared = Arc::new(Mutex::new(shared.iter().map(|key| (*key).clone()).collect()));
        let own = Arc::new(Mutex::new(HashMap::new()));
        let documents = Documents { base: server.uri(), shared_issuer: shared_issuer.map(str::to_owned) };
        Mock::given(method("GET"))
            .and(path_regex(format!("^/{SEGMENT}/(v2.0/)?.well-known/openid-configuration$")))
            .respond_with(documents)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(format!("^/{SEGMENT}/discovery/(v2.0/)?keys$")))
            .respond_with(KeySets { shared: shared.clone(), own: own.clone() })
            .mount(&server)
            .await;
        Self { server, shared, own }
    }

    /// `tenant` also signs with `key`, published only in its own key sets.
    fn give_own_key(&self, tenant: Uuid, key: &TestKey) {
        self.own.lock().unwrap().insert(tenant, key.clone());
    }

    fn publish(&self, keys: &[&TestKey]) {
        *self.shared.lock().unwrap() = keys.iter().map(|key| (*key).clone()).collect();
    }

    fn config(&self) -> ValidatorConfig {
        let url = url::Url::parse(&self.server.uri()).unwrap();
        ValidatorConfig { allow_insecure_http: true, ..ValidatorConfig::new(url) }
    }

    /// Requests for exactly `path`.
    async fn requests(&self, path: &str) -> usize {
        self.matching(|requested| requested == path).await
    }

    async fn matching(&self, matches: impl Fn(&str) -> bool) -> usize {
        let requests = self.server.received_requests().await.unwrap();
        requests.iter().filter(|r| matches(r.url.path())).count()
    }

    /// Requests for any document or key set of `tenant`.
    async fn requests_for(&self, tenant: Uuid) -> usize {
        self.matching(|requested| requested.starts_with(&format!("/{tenant}/"))).await
    }
}

fn tenants(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::new_v4()).collect()
}

async fn check(validator: &Validator, tenant: Uuid, token: &str) -> Result<entra::ValidatedToken, Rejection> {
    validator.validate(token, &acs(Authority::Tenant(tenant))).await
}

#[tokio::test]
async fn fifty_tenants_cost_one_metadata_fetch_and_one_key_set_fetch_per_token_version() {
    let key = TestKey::generate("k1", 2048);
    let entra = Entra::start(&[&key]).await;
    let validator = Validator::new(entra.config()).unwrap();
    let tenants = tenants(50);
    for tenant in &tenants {
        check(&validator, *tenant, &key.sign(&v1_claims(*tenant))).await.unwrap();
        check(&validator, *tenant, &key.sign(&v2_claims(*tenant))).await.unwrap();
    }
    assert_eq!(entra.requests("/common/.well-known/openid-configuration").await, 1);
    assert_eq!(entra.requests("/organizations/v2.0/.well-known/openid-configuration").await, 1);
    assert_eq!(entra.requests("/common/discovery/keys").await, 1);
    assert_eq!(entra.requests("/organizations/discovery/v2.0/keys").await, 1);
    assert_eq!(entra.server.received_requests().await.unwrap().len(), 4, "nothing per tenant");

    validator.refresh().await;
    assert_eq!(entra.server.received_requests().await.unwrap().len(), 8, "the refresh: the same four");
    let ages = validator.key_ages();
    let mut labels: Vec<&str> = ages.iter().map(|(source, _, _)| source.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["common", "organizations/v2.0"], "key ages by key set, not by tenant");
}

#[tokio::test]
async fn a_token_of_one_tenant_is_refused_for_another_though_their_keys_are_shared() {
    let key = TestKey::generate("k1", 2048);
    let entra = Entra::start(&[&key]).await;
    let validator = Validator::new(entra.config()).unwrap();
    let [x, y] = [Uuid::new_v4(), Uuid::new_v4()];
    check(&validator, y, &key.sign(&v1_claims(y))).await.unwrap();

    for claims in [v1_claims(x), v2_claims(x)] {
        assert_eq!(check(&validator, y, &key.sign(&claims)).await.unwrap_err(), Rejection::TenantNotAllowed);
    }
    // The tenant id rewritten to Y's, the issuer still X's: the shared template names Y.
    let x_issuer_y_tid = [
        with(v1_claims(x), &json!({"tid": y.to_string()})),
        with(v2_claims(x), &json!({"tid": y.to_string()})),
    ];
    for claims in x_issuer_y_tid {
        assert_eq!(
            check(&validator, y, &key.sign(&claims)).await.unwrap_err(),
            Rejection::Issuer,
            "{claims}"
        );
    }
    let allowed = [y];
    let orgs = acs(Authority::Organizations(&allowed));
    assert_eq!(
        validator.validate(&key.sign(&v1_claims(x)), &orgs).await.unwrap_err(),
        Rejection::TenantNotAllowed
    );
}

#[tokio::test]
async fn v1_tokens_are_checked_against_sts_windows_net_of_their_own_tenant() {
    let key = TestKey::generate("k1", 2048);
    let entra = Entra::start(&[&key]).await;
    let validator = Validator::new(entra.config()).unwrap();
    let [x, y] = [Uuid::new_v4(), Uuid::new_v4()];
    let token = check(&validator, x, &key.sign(&v1_claims(x))).await.unwrap();
    assert_eq!((token.version, token.tid), (entra::TokenVersion::V1, x));
    for iss in [
        format!("https://sts.windows.net/{y}/"),
        "https://sts.windows.net/{tenantid}/".to_owned(),
        format!("https://sts.windows.net/{x}"),
        format!("https://login.microsoftonline.com/{x}/v2.0"),
    ] {
        let forged = key.sign(&with(v1_claims(x), &json!({"iss": iss})));
        assert_eq!(check(&validator, x, &forged).await.unwrap_err(), Rejection::Issuer, "{iss}");
    }
}

#[tokio::test]
async fn a_tenant_signing_with_its_own_key_is_verified_by_its_own_key_set_at_one_extra_fetch() {
    let shared = TestKey::generate("shared", 2048);
    let entra = Entra::start(&[&shared]).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let heard = events.clone();
    let observer: entra::observe::Observer = Arc::new(move |event: entra::observe::FetchEvent<'_>| {
        heard.lock().unwrap().push((event.authority.to_owned(), event.kind));
    });
    let validator = Validator::new(ValidatorConfig { observer, ..entra.config() }).unwrap();
    let [own_keys, other] = [Uuid::new_v4(), Uuid::new_v4()];
    let own = TestKey::generate("own", 2048);
    entra.give_own_key(own_keys, &own);
    check(&validator, other, &shared.sign(&v1_claims(other))).await.unwrap();

    for (n, claims) in [v1_claims(own_keys), v1_claims(own_keys), v2_claims(own_keys)].iter().enumerate() {
        let token = own.sign(&with(claims.clone(), &json!({"uti": format!("u{n}")})));
        check(&validator, own_keys, &token).await.unwrap();
    }
    assert_eq!(entra.requests(&format!("/{own_keys}/.well-known/openid-configuration")).await, 1);
    assert_eq!(entra.requests(&format!("/{own_keys}/discovery/keys")).await, 1, "one extra fetch");
    assert_eq!(entra.requests(&format!("/{own_keys}/v2.0/.well-known/openid-configuration")).await, 1);
    assert_eq!(entra.requests(&format!("/{own_keys}/discovery/v2.0/keys")).await, 1);
    assert_eq!(entra.requests("/common/discovery/keys").await, 1, "the shared set cools down");
    assert_eq!(entra.requests_for(other).await, 0);

    // Its own key never verifies another tenant's token, even one naming that key.
    let borrowed = own.sign(&v1_claims(other));
    assert_eq!(check(&validator, other, &borrowed).await.unwrap_err(), Rejection::UnknownKey);
    let labels: Vec<(String, FetchKind)> = events.lock().unwrap().clone();
    assert!(
        labels
            .iter()
            .all(|(label, _)| ["common", "organizations/v2.0", "tenant", "tenant/v2.0"]
                .contains(&label.as_str())),
        "labelled by key source, never by tenant: {labels:?}"
    );
    assert!(labels.contains(&("tenant".to_owned(), FetchKind::Keys)), "{labels:?}");
}

#[tokio::test]
async fn a_rotated_shared_key_is_learnt_for_every_tenant_with_one_refetch() {
    let old = TestKey::generate("old", 2048);
    let entra = Entra::start(&[&old]).await;
    let clock = Clock::manual();
    let validator = Validator::new(ValidatorConfig { clock, ..entra.config() }).unwrap();
    let tenants = tenants(10);
    for tenant in &tenants {
        check(&validator, *tenant, &old.sign(&v1_claims(*tenant))).await.unwrap();
    }
    let new = TestKey::generate("new", 2048);
    entra.publish(&[&old, &new]);
    clock.advance(Duration::from_secs(301));
    for tenant in &tenants {
        let token = new.sign(&with(v1_claims(*tenant), &json!({"uti": "rotated"})));
        check(&validator, *tenant, &token).await.unwrap();
    }
    assert_eq!(entra.requests("/common/discovery/keys").await, 2, "one refetch for all");
    for tenant in tenants {
        assert_eq!(entra.requests_for(tenant).await, 0, "no tenant's own source");
    }
}

#[tokio::test]
async fn an_outage_of_the_shared_metadata_costs_one_fetch_whatever_the_number_of_tenants() {
    let key = TestKey::generate("k1", 2048);
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
    let url = url::Url::parse(&server.uri()).unwrap();
    let validator =
        Validator::new(ValidatorConfig { allow_insecure_http: true, ..ValidatorConfig::new(url) }).unwrap();
    for tenant in tenants(20) {
        let error = check(&validator, tenant, &key.sign(&v1_claims(tenant))).await.unwrap_err();
        assert_eq!(error, Rejection::KeysUnavailable);
        assert!(validator.metadata_retry_after(Authority::Tenant(tenant)).is_some(), "cooling down");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_shared_document_without_a_tenant_template_does_not_vouch_for_tenants() {
    let key = TestKey::generate("k1", 2048);
    let fixed = "https://sts.windows.net/00000000-0000-0000-0000-00000000000a/";
    let entra = Entra::serving(&[&key], Some(fixed)).await;
    let validator = Validator::new(entra.config()).unwrap();
    let tenant = Uuid::new_v4();
    check(&validator, tenant, &key.sign(&v1_claims(tenant))).await.unwrap();
    assert_eq!(
        entra.requests(&format!("/{tenant}/.well-known/openid-configuration")).await,
        1,
        "its own document"
    );
    assert_eq!(entra.requests(&format!("/{tenant}/discovery/keys")).await, 1);
    let shared_keys = entra
        .matching(|path| {
            path.starts_with("/common/discovery/") || path.starts_with("/organizations/discovery/")
        })
        .await;
    assert_eq!(shared_keys, 0, "the shared set is not used");
    let shared_issuer = key.sign(&with(v1_claims(tenant), &json!({"iss": fixed})));
    assert_eq!(check(&validator, tenant, &shared_issuer).await.unwrap_err(), Rejection::Issuer);
}
