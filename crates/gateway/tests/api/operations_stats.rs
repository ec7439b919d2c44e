//! Per-tenant statistics: written by every replica, summed by the stats endpoint, kept across
//! restarts, pruned after the retention.

use std::time::Duration;

use chrono::{DurationRound, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_problem, spawn_app, spawn_app_on},
    upstreams::spawn_exchange_app,
};

const FAST_FLUSH: (&str, &str) = ("ACSGW_STATS_FLUSH_SECONDS", "1");

async fn stats(app: &TestApp, key: &str, slug: &str) -> Value {
    let url = app.url(&format!("/admin/v1/tenants/{slug}/stats"));
    let response = app.client.get(url).bearer_auth(key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_stats_endpoint_agrees_with_the_traffic_after_a_restart() {
    let (first, up) = spawn_exchange_app(&[]).await;
    let slug = first.create_exchange_tenant(&up, &json!({})).await;
    let a1 = up.a1();
    for _ in 0..3 {
        assert_eq!(first.exchange(&slug, &a1, None).await.status(), StatusCode::OK);
    }
    assert_eq!(
        first.exchange(&slug, &up.a1_with(json!({"uti": "second"})), None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        first.exchange(&slug, &up.a1_with(json!({"exp": 1})), None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let key = first.admin_key.clone();
    first.stop().await;

    let settings = [("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url())];
    let second = spawn_app_on(&first.database_url, &settings).await;
    let stats = stats(&second, &key, &slug).await;
    assert_eq!(stats["tenant"], slug);
    for window in ["lastHour", "lastDay"] {
        let w = &stats[window];
        assert_eq!(w["exchanges"], json!({"ok": 4, "invalid_token": 1}), "{window}: {stats}");
        assert_eq!(w["total"], 5);
        assert_eq!(w["cacheHits"], 2);
        assert_eq!(w["upstreamCalls"], 2);
        assert!(w["latencyMs"]["p50"].as_u64().unwrap() <= w["latencyMs"]["p99"].as_u64().unwrap());
    }
    let unknown = second
        .client
        .get(second.url("/admin/v1/tenants/no-such/stats"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn two_live_replicas_serving_one_tenant_are_summed_by_the_stats_endpoint() {
    let (first, up) = spawn_exchange_app(&[FAST_FLUSH]).await;
    let settings = [("ACSGW_ENTRA_AUTHORITY_HOST", up.issuer.base_url()), FAST_FLUSH];
    let second = spawn_app_on(&first.database_url, &settings).await;
    let slug = first.create_exchange_tenant(&up, &json!({})).await;
    for (n, replica) in [&first, &first, &second, &second, &second].into_iter().enumerate() {
        let a1 = up.a1_with(json!({"uti": format!("u{n}")}));
        assert_eq!(replica.exchange(&slug, &a1, None).await.status(), StatusCode::OK);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let stats = loop {
        // Read through either replica: both sum every replica's rows.
        let stats = stats(&second, &first.admin_key, &slug).await;
        if stats["lastHour"]["total"] == 5 {
            break stats;
        }
        assert!(tokio::time::Instant::now() < deadline, "both replicas' exchanges are not summed: {stats}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for window in ["lastHour", "lastDay"] {
        assert_eq!(stats[window]["exchanges"], json!({"ok": 5}), "{window}: {stats}");
        assert_eq!(stats[window]["upstreamCalls"], 5);
    }
    let replicas: i64 = sqlx::query_scalar("SELECT count(DISTINCT replica_id) FROM exchange_stats")
        .fetch_one(&first.pool)
        .await
        .unwrap();
    assert_eq!(replicas, 2, "each replica wrote its own rows");
}

#[tokio::test]
async fn pruning_removes_statistics_older_than_the_retention() {
    let app = spawn_app().await;
    let (slug, _) = app.create_tenant().await;
    let retention = TimeDelta::from_std(gateway::observability::stats::RETENTION).unwrap();
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let (old, recent) = (now - retention - TimeDelta::hours(1), now - TimeDelta::hours(1));
    for minute in [old, recent] {
        sqlx::query(
            "INSERT INTO exchange_stats (tenant_id, minute, replica_id, outcomes, latency_buckets)
             SELECT id, $2, $3, '{\"ok\": 1}', ARRAY[1]::bigint[] FROM tenants WHERE slug = $1",
        )
        .bind(&slug)
        .bind(minute)
        .bind(uuid::Uuid::new_v4())
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let pruned = registry::stats::prune(&app.pool, Utc::now() - retention).await.unwrap();
    assert_eq!(pruned, 1);
    let left: Vec<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT minute FROM exchange_stats").fetch_all(&app.pool).await.unwrap();
    assert_eq!(left, vec![recent], "only the row within the retention is left");
}
