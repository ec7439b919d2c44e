//! `POST /dev/keys:rotate` and `DevIssuer::rotate`: publish first, then sign; old keys stay published
//! (at most three) unless retired.

use jsonwebtoken::jwk::JwkSet;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::issuer_support::{TestIssuer, decode_unverified, mint_body, verify_with};

#[tokio::test]
async fn rotation_publishes_the_new_key_signs_with_it_and_keeps_the_old_key_published() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let old_kid = app.issuer().published_kids()[0].clone();
    let before = app.mint(mint_body(tenant, json!({}))).await;

    let (status, rotated) = app.post_json("/dev/keys:rotate", &json!({})).await;

    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_kid = rotated["kid"].as_str().unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated["published"], json!([new_kid, old_kid]));
    let after = app.mint(mint_body(tenant, json!({}))).await;
    assert_eq!(decode_unverified(&after).0["kid"], new_kid);
    let fetches = app.running.key_set_fetches();
    let key_set: JwkSet = serde_json::from_value(app.key_set(&tenant.to_string(), false).await).unwrap();
    assert_eq!(app.running.key_set_fetches(), fetches + 1);
    assert!(verify_with(&after, &key_set).is_ok());
    assert!(verify_with(&before, &key_set).is_ok(), "the old key is still published");
}

#[tokio::test]
async fn rotation_with_retire_old_unpublishes_every_earlier_key() {
    let app = TestIssuer::spawn().await;
    let tenant = Uuid::new_v4();
    let before = app.mint(mint_body(tenant, json!({}))).await;

    let (status, rotated) = app.post_json("/dev/keys:rotate", &json!({"retireOld": true})).await;

    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(rotated["published"], json!([rotated["kid"]]));
    let error = app.verify(&before, &tenant.to_string(), false).await.unwrap_err();
    assert!(error.contains("not published"), "{error}");
}

#[tokio::test]
async fn rotation_accepts_an_empty_body_and_refuses_unknown_members() {
    let app = TestIssuer::spawn().await;
    let http = crate::issuer_support::http_client();

    let empty = http.post(app.url("/dev/keys:rotate")).send().await.unwrap();
    let (status, body) = app.post_json("/dev/keys:rotate", &json!({"retire": true})).await;

    assert_eq!(empty.status(), StatusCode::OK);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error_description"].as_str().unwrap().contains("`retire`"), "{body}");
}

#[tokio::test]
async fn at_most_the_three_newest_keys_stay_published() {
    let app = TestIssuer::spawn().await;
    let first = app.issuer().published_kids()[0].clone();

    let kids: Vec<String> = (0..3).map(|_| app.issuer().rotate(false).unwrap()).collect();

    let published = app.issuer().published_kids();
    assert_eq!(published, [kids[2].clone(), kids[1].clone(), kids[0].clone()]);
    assert!(!published.contains(&first));
    let key_set = app.key_set("common", true).await;
    assert_eq!(key_set["keys"].as_array().unwrap().len(), 3);
}
