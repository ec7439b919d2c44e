//! Entra's metadata and key sets shared across tenants, through the exchange: many SaaS tenants, each
//! its own Entra tenant, cost one metadata fetch and one key-set fetch at the dev issuer, while
//! every token's issuer is still checked against its own tenant and a tenant signing with keys of
//! its own is still served (through its own key set, at one extra fetch).

use devstack::issuer::{MintRequest, Signing, TokenVersion};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::{
    fault_helpers::{AcsDouble, acs_token},
    helpers::{APP_ID, TestApp, assert_problem},
    upstreams::{USER_ID, Upstreams, spawn_exchange_app},
};

/// A gateway with the production cool-down, and an ACS double that answers every exchange (so the
/// emulator, which fetches keys of its own, plays no part in the counts).
async fn setup() -> (TestApp, Upstreams, AcsDouble) {
    let (app, up) = spawn_exchange_app(&[
        ("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "300"),
        ("ACSGW_USER_EXCHANGES_PER_MINUTE", "10000"),
    ])
    .await;
    (app, up, AcsDouble::start(acs_token()).await)
}

/// A SaaS tenant whose authority is the Entra tenant `entra`.
async fn tenant_of(app: &TestApp, up: &Upstreams, acs: &AcsDouble, entra: Uuid) -> String {
    let mut change = acs.tenant_change();
    change["entra"] = json!({"tenantId": entra.to_string()});
    app.create_exchange_tenant(up, &change).await
}

fn a1(up: &Upstreams, entra: Uuid, change: impl FnOnce(&mut MintRequest)) -> String {
    let mut request = MintRequest::new(entra.to_string(), USER_ID, APP_ID);
    change(&mut request);
    up.mint(&request)
}

#[tokio::test]
async fn fifty_tenants_exchanging_cost_one_metadata_fetch_and_one_key_set_fetch() {
    let (app, up, acs) = setup().await;
    let mut tenants = Vec::new();
    for _ in 0..50 {
        let entra = Uuid::new_v4();
        tenants.push((tenant_of(&app, &up, &acs, entra).await, entra));
    }
    for (slug, entra) in &tenants {
        let response = app.exchange(slug, &a1(&up, *entra, |_| {}), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    }
    assert_eq!(acs.exchange_count().await, 50);
    assert_eq!(up.issuer.metadata_fetches(), 1, "the shared organizations document");
    assert_eq!(up.issuer.key_set_fetches(), 1, "the shared key set");

    // v2 tokens: the v2 document and key set, once for all.
    for (slug, entra) in &tenants[..10] {
        let token = a1(&up, *entra, |r| r.version = TokenVersion::V2);
        assert_eq!(app.exchange(slug, &token, None).await.status(), StatusCode::OK);
    }
    assert_eq!((up.issuer.metadata_fetches(), up.issuer.key_set_fetches()), (2, 2));
}

#[tokio::test]
async fn a_token_of_one_entra_tenant_is_refused_by_another_though_their_keys_are_shared() {
    let (app, up, acs) = setup().await;
    let (x, y) = (Uuid::new_v4(), Uuid::new_v4());
    let (_, slug_y) = (tenant_of(&app, &up, &acs, x).await, tenant_of(&app, &up, &acs, y).await);
    assert_eq!(app.exchange(&slug_y, &a1(&up, y, |_| {}), None).await.status(), StatusCode::OK);

    for version in [TokenVersion::V1, TokenVersion::V2] {
        let of_x = a1(&up, x, |r| r.version = version);
        let response = app.exchange(&slug_y, &of_x, None).await;
        let body = assert_problem(response, StatusCode::FORBIDDEN, "tenant_not_allowed").await;
        assert_eq!(body["detail"], "Entra tenant is not allowed");
    }
    // X's issuer under Y's tenant id, signed with a key every tenant shares.
    for (version, x_issuer) in [
        (TokenVersion::V1, format!("https://sts.windows.net/{x}/")),
        (TokenVersion::V2, format!("https://login.microsoftonline.com/{x}/v2.0")),
    ] {
        let forged = a1(&up, y, |r| {
            r.version = version;
            r.claims.insert("iss".into(), json!(x_issuer));
        });
        let body = assert_problem(
            app.exchange(&slug_y, &forged, None).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        )
        .await;
        assert_eq!(body["detail"], "issuer not accepted", "{x_issuer}");
    }
    assert_eq!(acs.exchange_count().await, 1, "nothing refused reached ACS");
}

#[tokio::test]
async fn a_tenant_signing_with_its_own_key_is_served_through_its_own_key_set_at_one_extra_fetch() {
    let (app, up, acs) = setup().await;
    let (own, other) = (Uuid::new_v4(), Uuid::new_v4());
    let (slug, slug_other) = (tenant_of(&app, &up, &acs, own).await, tenant_of(&app, &up, &acs, other).await);
    assert_eq!(app.exchange(&slug, &a1(&up, own, |_| {}), None).await.status(), StatusCode::OK);
    let (documents, key_sets) = (up.issuer.metadata_fetches(), up.issuer.key_set_fetches());

    for n in 0..3 {
        let token = a1(&up, own, |r| {
            r.signing = Signing::TenantKey;
            r.claims.insert("uti".into(), json!(format!("own{n}")));
        });
        let response = app.exchange(&slug, &token, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    }
    assert_eq!(up.issuer.metadata_fetches(), documents + 1, "its own document, once");
    assert_eq!(up.issuer.key_set_fetches(), key_sets + 1, "its own key set, once");

    // Its own key verifies nobody else's token, even one that names it.
    let borrowed = a1(&up, own, |r| {
        r.signing = Signing::TenantKey;
        r.claims.insert("tid".into(), json!(other.to_string()));
        r.claims.insert("iss".into(), json!(format!("https://sts.windows.net/{other}/")));
    });
    let response = app.exchange(&slug_other, &borrowed, None).await;
    let body = assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(body["detail"], "token signed with an unknown key");
    assert_eq!(acs.exchange_count().await, 4);
}
