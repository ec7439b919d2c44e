//! The fault suite, Entra's half: the signing-key source goes down and comes back.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    fault_helpers::{AcsDouble, Switch, acs_token},
    helpers::{assert_problem, fresh_database, spawn_app_on},
    upstreams::upstreams,
};

#[tokio::test]
async fn during_a_key_source_outage_known_keys_work_and_new_ones_are_503_until_it_is_back() {
    let up = upstreams().await;
    let key_source = Switch::start(up.issuer.base_url()).await;
    let key_source_url = key_source.url();
    let settings = [
        ("ACSGW_ENTRA_AUTHORITY_HOST", key_source_url.as_str()),
        ("ACSGW_KEY_REFRESH_COOLDOWN_SECONDS", "0"),
    ];
    let app = spawn_app_on(&fresh_database().await, &settings).await.with_admin_key("test-operator").await;
    let acs = AcsDouble::start(acs_token()).await;
    let slug = app.create_exchange_tenant(&up, &acs.tenant_change()).await;
    let known = |uti: &str| up.a1_with(json!({"uti": uti}));
    let (during_outage, after_refusal) = (known("during-outage"), known("after-refusal"));
    assert_eq!(app.exchange(&slug, &known("first"), None).await.status(), StatusCode::OK);

    key_source.turn_off();
    let response = app.exchange(&slug, &during_outage, None).await;
    assert_eq!(response.status(), StatusCode::OK, "a cached key: {}", response.text().await.unwrap());

    let rotated_kid = up.issuer.issuer().rotate(false).unwrap();
    let fetches = up.issuer.key_set_fetches();
    for n in 0..2 {
        let rotated = up.a1_with(json!({"uti": format!("rotated{n}")}));
        let response = app.exchange(&slug, &rotated, None).await;
        assert_eq!(response.headers()["retry-after"], "30");
        let body = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable").await;
        assert_eq!(body["detail"], "signing keys are unavailable", "not a bad token: nobody could tell");
    }
    assert_eq!(up.issuer.key_set_fetches(), fetches, "no key set reached the gateway");
    let response = app.exchange(&slug, &after_refusal, None).await;
    assert_eq!(response.status(), StatusCode::OK, "known keys outlive a failed fetch");
    assert_eq!(acs.exchange_count().await, 3, "refused tokens never reach ACS");

    key_source.turn_on();
    let response = app.exchange(&slug, &up.a1_with(json!({"uti": "recovered"})), None).await;
    assert_eq!(response.status(), StatusCode::OK, "{rotated_kid}: {}", response.text().await.unwrap());
    assert_eq!(up.issuer.key_set_fetches(), fetches + 1, "one fetch learnt the rotated key");
    assert_eq!(acs.exchange_count().await, 4);
}
