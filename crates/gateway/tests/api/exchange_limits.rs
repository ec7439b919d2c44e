//! The per-user limit (entra-validation.md, "replay within the lifetime"): one Entra user (`tid`,
//! `oid`) minting fresh tokens cannot spend the tenant's allowance at ACS; others are not affected.

use devstack::issuer::MintRequest;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{APP_ID, ENTRA_TENANT, assert_problem},
    upstreams::{USER_ID, Upstreams, spawn_exchange_app},
};

const OTHER_USER: &str = "99999999-0000-4000-8000-0000000000b0";

/// A fresh A1 (distinct `uti`, so a distinct token) of `oid`.
fn fresh_a1(up: &Upstreams, oid: &str, n: usize) -> String {
    let mut request = MintRequest::new(ENTRA_TENANT, oid, APP_ID);
    request.claims.insert("uti".into(), json!(format!("fresh-{oid}-{n}")));
    up.mint(&request)
}

#[tokio::test]
async fn one_user_with_fresh_tokens_is_limited_while_another_user_of_the_tenant_still_succeeds() {
    let (app, up) = spawn_exchange_app(&[("ACSGW_USER_EXCHANGES_PER_MINUTE", "3")]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    for n in 0..3 {
        let response = app.exchange(&slug, &fresh_a1(&up, USER_ID, n), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    }
    let limited = app.exchange(&slug, &fresh_a1(&up, USER_ID, 3), None).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((15..=20).contains(&retry_after), "3 per minute: the next in about 20 s, not {retry_after}");
    let body = assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(body["detail"], "exchange limit for this user exceeded");
    assert_eq!(up.acs_exchanges(), 3, "the refused exchange never reached ACS");

    let other = app.exchange_as(&slug, &fresh_a1(&up, OTHER_USER, 0), APP_ID, OTHER_USER, None).await;
    assert_eq!(other.status(), StatusCode::OK, "{}", other.text().await.unwrap());
    assert_eq!(up.acs_exchanges(), 4);
}

#[tokio::test]
async fn cache_hits_do_not_count_against_a_users_limit() {
    let (app, up) = spawn_exchange_app(&[("ACSGW_USER_EXCHANGES_PER_MINUTE", "1")]).await;
    let slug = app.create_exchange_tenant(&up, &json!({})).await;
    let a1 = fresh_a1(&up, USER_ID, 0);
    for _ in 0..5 {
        assert_eq!(app.exchange(&slug, &a1, None).await.status(), StatusCode::OK);
    }
    assert_eq!(up.acs_exchanges(), 1);
    assert_problem(
        app.exchange(&slug, &fresh_a1(&up, USER_ID, 1), None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_eq!(up.acs_exchanges(), 1);
}
