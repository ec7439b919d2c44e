//! The validator against a wiremock Entra: happy paths, key caching and every refusal it owns.
#![expect(clippy::unwrap_used, reason = "a test that cannot set itself up should fail loudly")]

#[allow(dead_code, reason = "each test binary uses part of the shared wiremock Entra")]
mod support;

use std::time::Duration;

use entra::{ACS_AUDIENCES, AppExpectation, Authority, Expectations, Rejection, TokenVersion, Validator};
use jose::clock::Clock;
use serde_json::json;
use support::{
    ALLOWED_APPS, APP, Idp, OTHER_TENANT, TENANT, TestKey, USER, acs, check, now, v1_claims, v2_claims, with,
};

#[tokio::test]
async fn a_good_v1_token_is_accepted_with_its_bindings() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let token = idp
        .validator()
        .validate(&key.sign(&v1_claims(TENANT)), &acs(Authority::Tenant(TENANT)))
        .await
        .unwrap();
    assert_eq!(
        (token.version, token.tid, token.oid, token.app_id),
        (TokenVersion::V1, TENANT, USER, Some(APP))
    );
    assert_eq!(token.kid, "k1");
    assert_eq!(token.uti.as_deref(), Some("AbCdEf123"));
}

#[tokio::test]
async fn a_good_v2_token_is_accepted_against_the_v2_metadata_and_key_issuer() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let token = check(&idp.validator(), &key.sign(&v2_claims(TENANT))).await.unwrap();
    assert_eq!(token.version, TokenVersion::V2);
    assert_eq!(idp.requests_to("/v2.0/.well-known").await, 1);
    assert_eq!(idp.requests_to("/discovery/v2.0/keys").await, 1);
}

#[tokio::test]
async fn both_acs_audiences_are_accepted_and_nothing_else() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    for aud in ACS_AUDIENCES {
        assert!(check(&validator, &key.sign(&with(v1_claims(TENANT), &json!({"aud": aud})))).await.is_ok());
    }
    for aud in ["https://graph.microsoft.com", "https://auth.msft.communication.azure.com/", "api://contoso"]
    {
        let token = key.sign(&with(v1_claims(TENANT), &json!({"aud": aud})));
        assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::Audience, "{aud}");
    }
}

#[tokio::test]
async fn an_organizations_authority_accepts_allow_listed_tenants_and_refuses_others_before_fetching() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let allowed = [TENANT];
    let token = key.sign(&v1_claims(TENANT));
    assert!(validator.validate(&token, &acs(Authority::Organizations(&allowed))).await.is_ok());
    assert_eq!(idp.requests_to("/common/.well-known").await, 1);

    let stranger = TestKey::generate("k1", 2048).sign(&v1_claims(OTHER_TENANT));
    let before = idp.server.received_requests().await.unwrap().len();
    let error = validator.validate(&stranger, &acs(Authority::Organizations(&allowed))).await.unwrap_err();
    assert_eq!(error, Rejection::TenantNotAllowed);
    assert_eq!(idp.server.received_requests().await.unwrap().len(), before, "no fetch for a refused tenant");
}

#[tokio::test]
async fn a_verified_token_is_refused_once_its_tenant_leaves_the_allow_list() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let token = key.sign(&v1_claims(TENANT));
    assert!(validator.validate(&token, &acs(Authority::Organizations(&[TENANT]))).await.is_ok());

    let before = idp.server.received_requests().await.unwrap().len();
    let error =
        validator.validate(&token, &acs(Authority::Organizations(&[OTHER_TENANT]))).await.unwrap_err();
    assert_eq!(error, Rejection::TenantNotAllowed, "the cached verification does not skip the allow-list");
    assert!(
        validator.validate(&token, &acs(Authority::Organizations(&[OTHER_TENANT, TENANT]))).await.is_ok()
    );
    assert_eq!(idp.server.received_requests().await.unwrap().len(), before, "served from the cache");
}

#[tokio::test]
async fn the_consumer_tenant_is_refused_even_when_allow_listed() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let consumer = entra::CONSUMER_TENANT;
    let allowed = [consumer];
    let token = key.sign(&v1_claims(consumer));
    let error = idp.validator().validate(&token, &acs(Authority::Organizations(&allowed))).await.unwrap_err();
    assert_eq!(error, Rejection::ConsumerTenant);
    assert_eq!(error.code(), "tenant_not_allowed");
    assert!(idp.server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn many_tokens_cost_one_metadata_and_one_key_fetch() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    for n in 0..10 {
        let token = key.sign(&with(v1_claims(TENANT), &json!({"uti": format!("u{n}")})));
        check(&validator, &token).await.unwrap();
    }
    assert_eq!(idp.requests_to("/.well-known").await, 1);
    assert_eq!(idp.requests_to("/discovery/keys").await, 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_at_most_one_fetch_per_key_set_within_the_cooldown() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    let forger = TestKey::generate("unused", 2048);
    // A fresh, never-published kid each time.
    let tokens: Vec<String> =
        (0..200).map(|n| forger.with_kid(&format!("kid{n}")).sign(&v1_claims(TENANT))).collect();
    let results = futures_util::future::join_all(tokens.iter().map(|t| check(&validator, t))).await;
    assert!(results.iter().all(|r| *r == Err(Rejection::UnknownKey)));
    // The shared set is cooling down; the tenant's own set is looked at once, then cools down too.
    assert_eq!(idp.requests_to("/common/discovery/keys").await, 1, "the shared set: no refetch");
    assert_eq!(idp.requests_to(&format!("/{TENANT}/discovery/keys")).await, 1, "the tenant's own: once");
}

#[tokio::test]
async fn a_key_published_after_the_cooldown_is_fetched_on_first_sight() {
    let old = TestKey::generate("old", 2048);
    let idp = Idp::start(&[&old]).await;
    let validator =
        Validator::new(entra::ValidatorConfig { refresh_cooldown: Duration::ZERO, ..idp.config() }).unwrap();
    check(&validator, &old.sign(&v1_claims(TENANT))).await.unwrap();
    let new = TestKey::generate("new", 2048);
    idp.publish(&[&old, &new], None).await;
    check(&validator, &new.sign(&v1_claims(TENANT))).await.unwrap();
    check(&validator, &old.sign(&with(v1_claims(TENANT), &json!({"uti": "again"})))).await.unwrap();
    assert_eq!(idp.requests_to("/discovery/keys").await, 2);
}

#[tokio::test]
async fn keys_are_merged_across_fetches_so_a_key_missing_from_one_answer_still_verifies() {
    let (a, b) = (TestKey::generate("a", 2048), TestKey::generate("b", 2048));
    let idp = Idp::start(&[&a]).await;
    let validator =
        Validator::new(entra::ValidatorConfig { refresh_cooldown: Duration::ZERO, ..idp.config() }).unwrap();
    check(&validator, &a.sign(&v1_claims(TENANT))).await.unwrap();
    idp.publish(&[&b], None).await;
    check(&validator, &b.sign(&v1_claims(TENANT))).await.unwrap();
    check(&validator, &a.sign(&with(v1_claims(TENANT), &json!({"uti": "flapped"})))).await.unwrap();
}

#[tokio::test]
async fn last_known_good_keys_keep_working_while_the_key_source_fails() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator =
        Validator::new(entra::ValidatorConfig { refresh_cooldown: Duration::ZERO, ..idp.config() }).unwrap();
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    idp.break_keys().await;
    validator.refresh().await;
    check(&validator, &key.sign(&with(v1_claims(TENANT), &json!({"uti": "later"})))).await.unwrap();
    let unknown = key.with_kid("unknown").sign(&v1_claims(TENANT));
    assert_eq!(
        check(&validator, &unknown).await.unwrap_err(),
        Rejection::KeysUnavailable,
        "cannot tell, so 503"
    );
}

#[tokio::test]
async fn keys_past_their_lifetime_with_the_source_down_are_unavailable_not_invalid() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let clock = Clock::manual();
    let config = entra::ValidatorConfig { key_ttl: Duration::from_millis(300), clock, ..idp.config() };
    let validator = Validator::new(config).unwrap();
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    idp.break_keys().await;
    clock.advance(Duration::from_millis(400));
    let error =
        check(&validator, &key.sign(&with(v1_claims(TENANT), &json!({"uti": "late"})))).await.unwrap_err();
    assert_eq!(error, Rejection::KeysUnavailable);
    assert_eq!(error.code(), "upstream_unavailable");
}

#[tokio::test]
async fn an_unreachable_metadata_document_is_unavailable() {
    let validator =
        Validator::new(entra::ValidatorConfig::new(url::Url::parse("http://127.0.0.1:1").unwrap())).unwrap();
    let token = TestKey::generate("k1", 2048).sign(&v1_claims(TENANT));
    assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::KeysUnavailable);
}

#[tokio::test]
async fn the_background_refresh_fetches_every_key_source_in_use() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    check(&validator, &key.sign(&v1_claims(TENANT))).await.unwrap();
    validator.refresh().await;
    assert_eq!(idp.requests_to("/discovery/keys").await, 2);
    assert_eq!(idp.requests_to("/.well-known").await, 2);
    let ages = validator.key_ages();
    assert_eq!(ages.len(), 1);
    assert_eq!((ages[0].0.as_str(), ages[0].1.as_str()), ("common", "k1"), "by key set, not tenant");
}

#[tokio::test]
async fn a_signature_by_another_key_under_a_published_kid_is_refused() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let forged = TestKey::generate("k1", 2048).sign(&v1_claims(TENANT));
    assert_eq!(check(&idp.validator(), &forged).await.unwrap_err(), Rejection::Signature);
    let good = key.sign(&v1_claims(TENANT));
    let (head, _) = good.rsplit_once('.').unwrap();
    let (_, other_sig) = forged.rsplit_once('.').unwrap();
    assert_eq!(
        check(&idp.validator(), &format!("{head}.{other_sig}")).await.unwrap_err(),
        Rejection::Signature
    );
}

#[tokio::test]
async fn a_published_key_shorter_than_2048_bits_is_refused() {
    let weak = TestKey::generate("weak", 1024);
    let idp = Idp::start(&[&weak]).await;
    let error = check(&idp.validator(), &weak.sign(&v1_claims(TENANT))).await.unwrap_err();
    assert_eq!(error, Rejection::Key("RSA key shorter than 2048 bits"));
}

#[tokio::test]
async fn issuers_must_be_the_metadata_issuer_for_the_tokens_version_and_tenant() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let allowed = [TENANT, OTHER_TENANT];
    let orgs = acs(Authority::Organizations(&allowed));
    for (claims, why) in [
        (
            with(
                v1_claims(TENANT),
                &json!({"iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0")}),
            ),
            "v1 with a v2 issuer",
        ),
        (
            with(v2_claims(TENANT), &json!({"iss": format!("https://sts.windows.net/{TENANT}/")})),
            "v2 with a v1 issuer",
        ),
        (
            with(v1_claims(TENANT), &json!({"iss": format!("https://sts.windows.net/{OTHER_TENANT}/")})),
            "another tenant's issuer",
        ),
        (
            with(v1_claims(TENANT), &json!({"iss": format!("https://sts.windows.net/{TENANT}")})),
            "no trailing slash",
        ),
        (with(v1_claims(TENANT), &json!({"iss": format!("https://evil.example/{TENANT}/")})), "another host"),
    ] {
        assert_eq!(
            validator.validate(&key.sign(&claims), &orgs).await.unwrap_err(),
            Rejection::Issuer,
            "{why}"
        );
    }
}

#[tokio::test]
async fn a_v2_key_whose_own_issuer_names_another_tenant_is_refused() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    idp.publish(&[&key], Some(&format!("https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"))).await;
    let error = check(&idp.validator(), &key.sign(&v2_claims(TENANT))).await.unwrap_err();
    assert_eq!(error, Rejection::Issuer);
}

#[tokio::test]
async fn a_cached_verification_never_outlives_the_token() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let clock = Clock::manual();
    let validator =
        Validator::new(entra::ValidatorConfig { leeway: Duration::ZERO, clock, ..idp.config() }).unwrap();
    let token = key.sign(&with(v1_claims(TENANT), &json!({"exp": clock.unix_seconds() + 1})));
    check(&validator, &token).await.unwrap();
    clock.advance(Duration::from_millis(2100));
    assert_eq!(check(&validator, &token).await.unwrap_err(), Rejection::Expired);
}

#[tokio::test]
async fn the_claim_rules_refuse_each_bad_token_with_its_reason() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let validator = idp.validator();
    let cases = [
        (json!({"exp": now() - 120}), Rejection::Expired),
        (json!({"nbf": now() + 120}), Rejection::NotYetValid),
        (json!({"exp": null}), Rejection::MissingClaim("exp")),
        (json!({"nbf": null}), Rejection::MissingClaim("nbf")),
        (json!({"nbf": now() - 60, "exp": now() + 29 * 3600}), Rejection::LifetimeTooLong),
        (json!({"scp": "Teams.ManageCalls"}), Rejection::Scope),
        (json!({"scp": null, "roles": ["Teams.Exchange"]}), Rejection::AppOnly),
        (json!({"idtyp": "app"}), Rejection::AppOnly),
        (json!({"oid": "99999999-9999-9999-9999-999999999999"}), Rejection::UserMismatch),
        (json!({"oid": null}), Rejection::MissingClaim("oid")),
        (json!({"appid": "99999999-9999-9999-9999-999999999999"}), Rejection::AppMismatch),
        (json!({"azp": APP.to_string()}), Rejection::Version),
        (json!({"appid": null}), Rejection::MissingClaim("appid")),
        (json!({"ver": "1.1"}), Rejection::Version),
        (json!({"ver": null}), Rejection::MissingClaim("ver")),
        (json!({"tid": "not-a-guid"}), Rejection::BadClaim("tid")),
        (json!({"aud": null}), Rejection::MissingClaim("aud")),
        (json!({"iss": null}), Rejection::MissingClaim("iss")),
    ];
    for (change, expected) in cases {
        let token = key.sign(&with(v1_claims(TENANT), &change));
        assert_eq!(check(&validator, &token).await.unwrap_err(), expected, "{change}");
    }
}

#[tokio::test]
async fn an_app_that_matches_the_claim_but_is_not_allow_listed_is_refused() {
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let other_app = uuid::uuid!("99999999-2222-3333-4444-555555555555");
    let expect = Expectations {
        app: Some(AppExpectation { claimed: Some(other_app), allowed: ALLOWED_APPS }),
        ..acs(Authority::Tenant(TENANT))
    };
    let token = key.sign(&with(v1_claims(TENANT), &json!({"appid": other_app.to_string()})));
    assert_eq!(idp.validator().validate(&token, &expect).await.unwrap_err(), Rejection::AppNotAllowed);
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_published_rsa_key_is_refused() {
    use hmac::{Hmac, Mac};
    let key = TestKey::generate("k1", 2048);
    let idp = Idp::start(&[&key]).await;
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "k1"});
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        base64::Engine::encode(&engine, header.to_string()),
        base64::Engine::encode(&engine, v1_claims(TENANT).to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key.public_der()).unwrap();
    mac.update(input.as_bytes());
    let token = format!("{input}.{}", base64::Engine::encode(&engine, mac.finalize().into_bytes()));
    assert_eq!(check(&idp.validator(), &token).await.unwrap_err(), Rejection::Algorithm);
    assert!(idp.server.received_requests().await.unwrap().is_empty(), "refused before any fetch");
}
