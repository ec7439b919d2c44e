//! The fault suite, the admin API's half: writers racing on one tenant, across two replicas.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, etag, spawn_app, spawn_app_on};

const WRITERS: usize = 12;

#[tokio::test]
async fn concurrent_patches_with_one_etag_let_exactly_one_win_and_lose_no_update() {
    let a = spawn_app().await;
    let mut b = spawn_app_on(&a.database_url, &[]).await;
    b.admin_key.clone_from(&a.admin_key);
    let (slug, created) = a.create_tenant().await;
    let version = created["version"].as_u64().unwrap();
    let tag = format!("\"{version}\"");

    // Each writer changes two fields, so a mix of two writes would show.
    let writes = (0..WRITERS).map(|n| {
        let replica = if n % 2 == 0 { &a } else { &b };
        let patch = json!({"displayName": format!("Writer {n}"), "limits": {"burst": 100 + n}});
        let (slug, tag) = (&slug, &tag);
        async move { (n, replica.patch_tenant(slug, Some(tag), &patch).await) }
    });
    let mut winners = Vec::new();
    for (n, response) in join_all(writes).await {
        if response.status().is_success() {
            assert_eq!(etag(&response), format!("\"{}\"", version + 1));
            winners.push(n);
        } else {
            assert_problem(response, StatusCode::PRECONDITION_FAILED, "precondition_failed").await;
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let winner = winners[0];

    for replica in [&a, &b] {
        let current: Value = replica.get_tenant(&slug).await.json().await.unwrap();
        assert_eq!(current["displayName"], format!("Writer {winner}"));
        assert_eq!(current["limits"]["burst"], 100 + winner);
        assert_eq!(current["version"], version + 1);
    }
    let updates = updates(&a, &slug).await;
    assert_eq!(updates.len(), 1, "one write happened: {updates:?}");
    assert!(updates[0]["changes"].as_array().unwrap().contains(&json!({
        "field": "/displayName", "from": created["displayName"], "to": format!("Writer {winner}")
    })));
}

#[tokio::test]
async fn sequential_patches_each_with_the_fresh_etag_all_land_whichever_replica_takes_them() {
    let a = spawn_app().await;
    let mut b = spawn_app_on(&a.database_url, &[]).await;
    b.admin_key.clone_from(&a.admin_key);
    let (slug, created) = a.create_tenant().await;
    let mut tag = format!("\"{}\"", created["version"]);

    for n in 0..6 {
        let replica = if n % 2 == 0 { &a } else { &b };
        let response =
            replica.patch_tenant(&slug, Some(&tag), &json!({"displayName": format!("Step {n}")})).await;
        assert_eq!(response.status(), StatusCode::OK, "step {n}");
        tag = etag(&response);
    }

    let current: Value = b.get_tenant(&slug).await.json().await.unwrap();
    assert_eq!(current["displayName"], "Step 5");
    assert_eq!(current["version"], created["version"].as_u64().unwrap() + 6);
    assert_eq!(format!("\"{}\"", current["version"]), tag);
    assert_eq!(updates(&a, &slug).await.len(), 6, "every write landed");
}

#[tokio::test]
async fn concurrent_patches_with_if_match_any_all_land_each_merged_onto_the_version_before_it() {
    let a = spawn_app().await;
    let mut b = spawn_app_on(&a.database_url, &[]).await;
    b.admin_key.clone_from(&a.admin_key);
    let (slug, created) = a.create_tenant().await;
    let version = created["version"].as_u64().unwrap();
    let writers = 6;

    // Each writer sets a field of its own: a write merged onto a stale version would undo another's.
    let writes = (0..writers).map(|n| {
        let replica = if n % 2 == 0 { &a } else { &b };
        let patch = match n % 3 {
            0 => json!({"displayName": format!("Writer {n}")}),
            1 => json!({"limits": {"burst": 100 + n}}),
            _ => json!({"limits": {"exchangesPerSecond": 50 + n}}),
        };
        let slug = &slug;
        async move { (n, replica.patch_tenant(slug, Some("*"), &patch).await) }
    });
    for (n, response) in join_all(writes).await {
        assert_eq!(response.status(), StatusCode::OK, "writer {n}: {}", response.text().await.unwrap());
    }

    let current: Value = b.get_tenant(&slug).await.json().await.unwrap();
    assert_eq!(current["version"], version + writers as u64, "every write landed on its own version");
    assert_eq!(updates(&a, &slug).await.len(), writers);
    // Each field holds one of its own writers' values, never the value it was created with.
    assert!(["Writer 0", "Writer 3"].contains(&current["displayName"].as_str().unwrap()), "{current}");
    assert!([101, 104].contains(&current["limits"]["burst"].as_u64().unwrap()), "{current}");
    assert!([52, 55].contains(&current["limits"]["exchangesPerSecond"].as_u64().unwrap()), "{current}");
}

/// The tenant's `tenant.updated` audit events, newest first.
async fn updates(app: &crate::helpers::TestApp, slug: &str) -> Vec<Value> {
    let events = app.audit_events(slug).await;
    events.into_iter().filter(|event| event["action"] == "tenant.updated").collect()
}
