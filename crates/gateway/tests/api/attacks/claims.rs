//! Attacks through the claims: audience, issuer, subject, client and token type.

use crate::helpers::{APP_ID, ENTRA_TENANT, assert_problem};
use crate::upstreams::USER_ID;
use devstack::issuer::{MintRequest, TokenVersion};
use reqwest::StatusCode;
use serde_json::json;

use super::{FORBIDDEN, INVALID, minted, refused, setup, with_claims};

#[tokio::test]
async fn id_tokens_and_other_cross_jwt_confusion_are_refused() {
    let (app, up, slug) = setup().await;
    let id_token = minted(&up, |r| {
        r.audience = Some(APP_ID.to_owned());
        r.scopes = vec![];
    });
    refused(&app, &up, &slug, &id_token, INVALID, "invalid_token", "audience not accepted").await;
}

#[tokio::test]
async fn tokens_for_another_audience_are_refused() {
    let (app, up, slug) = setup().await;
    for audience in [
        "https://graph.microsoft.com",
        "00000003-0000-0000-c000-000000000000",
        "api://contoso",
        "https://auth.msft.communication.azure.com/",
    ] {
        let token = minted(&up, |r| r.audience = Some(audience.to_owned()));
        refused(&app, &up, &slug, &token, INVALID, "invalid_token", "audience not accepted").await;
    }
}

#[tokio::test]
async fn a_valid_token_from_another_entra_tenant_is_not_replayed_here() {
    let (app, up, slug) = setup().await;
    let token = up.mint(&MintRequest::new("bbbbbbbb-0000-4000-8000-000000000003", USER_ID, APP_ID));
    refused(&app, &up, &slug, &token, FORBIDDEN, "tenant_not_allowed", "Entra tenant is not allowed").await;
}

#[tokio::test]
async fn v1_and_v2_forms_are_never_mixed() {
    let (app, up, slug) = setup().await;
    let v1_with_v2_issuer =
        with_claims(&up, json!({"iss": format!("https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0")}));
    refused(&app, &up, &slug, &v1_with_v2_issuer, INVALID, "invalid_token", "issuer not accepted").await;
    let v2_with_appid = minted(&up, |r| {
        r.version = TokenVersion::V2;
        r.claims.insert("appid".into(), json!(APP_ID));
    });
    refused(&app, &up, &slug, &v2_with_appid, INVALID, "invalid_token", "token version not accepted").await;
    let no_version = with_claims(&up, json!({"ver": null}));
    refused(&app, &up, &slug, &no_version, INVALID, "invalid_token", "token lacks claim ver").await;
}

#[tokio::test]
async fn app_only_tokens_are_refused() {
    let (app, up, slug) = setup().await;
    let app_only = with_claims(&up, json!({"idtyp": "app"}));
    refused(&app, &up, &slug, &app_only, FORBIDDEN, "insufficient_scope", "app-only tokens are not accepted")
        .await;
    let roles = minted(&up, |r| {
        r.scopes = vec![];
        r.claims.insert("roles".into(), json!(["Teams.ManageCalls"]));
    });
    refused(&app, &up, &slug, &roles, FORBIDDEN, "insufficient_scope", "app-only tokens are not accepted")
        .await;
}

#[tokio::test]
async fn the_subject_is_bound_by_oid_and_never_by_sub_or_names() {
    let (app, up, slug) = setup().await;
    let other = "99999999-0000-4000-8000-000000000001";
    let token = with_claims(
        &up,
        json!({"sub": other, "upn": "victim@contoso.example", "preferred_username": "victim"}),
    );
    let body =
        assert_problem(app.exchange_as(&slug, &token, APP_ID, other, None).await, FORBIDDEN, "user_mismatch")
            .await;
    assert_eq!(body["detail"], "token belongs to another user");
    assert_eq!(up.acs_exchanges(), 0);
}

#[tokio::test]
async fn the_client_is_bound_by_appid_and_the_allow_list() {
    let (app, up, slug) = setup().await;
    let stranger_app = "99999999-0000-4000-8000-00000000000a";
    let token = up.mint(&MintRequest::new(ENTRA_TENANT, USER_ID, stranger_app));
    let body = assert_problem(
        app.exchange_as(&slug, &token, stranger_app, USER_ID, None).await,
        FORBIDDEN,
        "app_not_allowed",
    )
    .await;
    assert_eq!(body["detail"], "app is not allowed for this tenant");
    let body = assert_problem(
        app.exchange_as(&slug, &token, APP_ID, USER_ID, None).await,
        FORBIDDEN,
        "app_not_allowed",
    )
    .await;
    assert_eq!(body["detail"], "token was issued to another app");
}

#[tokio::test]
async fn personal_microsoft_accounts_are_refused() {
    let (app, up, slug) = setup().await;
    let token = up.mint(&MintRequest::new("9188040d-6c67-4c5b-b112-36a304b66dad", USER_ID, APP_ID));
    refused(
        &app,
        &up,
        &slug,
        &token,
        FORBIDDEN,
        "tenant_not_allowed",
        "Microsoft personal accounts are not accepted",
    )
    .await;
}

#[tokio::test]
async fn replaying_a_token_within_its_lifetime_reaches_acs_once() {
    let (app, up, slug) = setup().await;
    let token = up.a1();
    for _ in 0..5 {
        assert_eq!(app.exchange(&slug, &token, None).await.status(), StatusCode::OK);
    }
    assert_eq!(up.acs_exchanges(), 1, "replays are served from the cache, bounded by the tenant's limit");
}

#[tokio::test]
async fn one_user_minting_fresh_tokens_is_rate_limited_per_tid_and_oid() {
    let (app, up, slug) = setup().await;
    let mut statuses = Vec::new();
    for n in 0..14 {
        let token = with_claims(&up, json!({"uti": format!("fresh{n}")}));
        statuses.push(app.exchange(&slug, &token, None).await.status());
    }
    // The default: 30 a minute (one every 2 s) with bursts of 10, far below this tenant's limit.
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert!(statuses[10..].contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let allowed = statuses.iter().filter(|s| **s == StatusCode::OK).count() as u64;
    assert_eq!(up.acs_exchanges(), allowed, "limited exchanges never reach ACS");
}

#[tokio::test]
async fn errors_are_plain_words_and_never_an_oracle_of_the_token() {
    let (app, up, slug) = setup().await;
    let token = with_claims(&up, json!({"aud": "https://graph.microsoft.com"}));
    let body = assert_problem(app.exchange(&slug, &token, None).await, INVALID, "invalid_token").await;
    let text = body.to_string();
    for part in token.split('.') {
        assert!(!text.contains(part), "no part of the token is echoed");
    }
    assert!(!text.contains("graph.microsoft.com"), "claim values are not echoed either");
}
