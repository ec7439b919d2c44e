//! Invitations through the admin API: created with a link shown once, listed with their states
//! (never the link), revoked, expired, and audited.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    helpers::assert_problem,
    onboarding_helpers::{
        create_invitation, expire, invite, list_invitations, mark_connected, open_page, revoke_invitation,
        spawn_onboarding_app, token_of,
    },
};

const CUSTOMER_TENANT: &str = "5f1c9a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b";
const CUSTOMER_ADMIN: &str = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d";

fn at(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn an_invitation_is_created_pending_with_a_one_time_link_that_expires_in_seven_days() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;

    let response = create_invitation(&app, &slug, None).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["expiresAt", "id", "state", "url"]);
    assert_eq!(created["state"], "pending");
    let token = token_of(&created);
    assert_eq!(token.len(), 43, "256 random bits, base64url: {token}");
    let lifetime = at(&created["expiresAt"]) - Utc::now();
    assert!(
        (TimeDelta::days(7) - TimeDelta::minutes(1)..=TimeDelta::days(7)).contains(&lifetime),
        "{lifetime}"
    );
    // Only the token's hash is stored.
    let (hash, row): (Vec<u8>, String) =
        sqlx::query_as("SELECT token_hash, row_to_json(invitations)::text FROM invitations")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(hash, Sha256::digest(token.as_bytes()).to_vec());
    assert!(!row.contains(&token), "the token is stored in clear: {row}");
}

#[tokio::test]
async fn a_created_invitation_is_listed_pending_without_its_link() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let created = invite(&app, &slug).await;

    let items = list_invitations(&app, &slug).await;

    assert_eq!(items.len(), 1);
    let listed = &items[0];
    assert_eq!((&listed["id"], &listed["state"]), (&created["id"], &json!("pending")));
    assert_eq!(listed["createdBy"], "test-operator");
    assert_eq!(listed["expiresAt"], created["expiresAt"]);
    assert_eq!(listed.get("url"), None);
    assert!(!listed.to_string().contains(&token_of(&created)), "{listed}");
}

#[tokio::test]
async fn an_invitation_lives_as_long_as_asked_within_thirty_days() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let wanted = (Utc::now() + TimeDelta::days(2)).to_rfc3339_opts(SecondsFormat::Secs, true);

    let response = create_invitation(&app, &slug, Some(json!({"expiresAt": wanted}))).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(at(&created["expiresAt"]), at(&json!(wanted)));
}

#[tokio::test]
async fn an_expiry_in_the_past_beyond_thirty_days_or_not_a_date_is_refused_naming_expires_at() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    for (expires_at, message) in [
        (json!((Utc::now() - TimeDelta::minutes(1)).to_rfc3339()), "must be in the future"),
        (json!((Utc::now() + TimeDelta::days(31)).to_rfc3339()), "must be at most 30 days from now"),
        (json!("next tuesday"), "must be an RFC 3339 date-time, e.g. 2027-01-31T00:00:00Z"),
    ] {
        let response = create_invitation(&app, &slug, Some(json!({"expiresAt": expires_at}))).await;
        let body = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["errors"], json!([{"field": "/expiresAt", "message": message}]));
    }
    let unknown = create_invitation(&app, &slug, Some(json!({"url": "https://x.example"}))).await;
    assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(list_invitations(&app, &slug).await.is_empty());
}

#[tokio::test]
async fn revoking_an_invitation_closes_its_page_and_is_answered_204_again() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let created = invite(&app, &slug).await;
    let id = created["id"].as_str().unwrap();

    assert_eq!(revoke_invitation(&app, &slug, id).await.status(), StatusCode::NO_CONTENT);

    let listed = &list_invitations(&app, &slug).await[0];
    assert_eq!(listed["state"], "revoked");
    assert!(listed["revokedAt"].is_string(), "{listed}");
    assert_eq!(open_page(&app, &token_of(&created)).await.status(), StatusCode::GONE);
    assert_eq!(revoke_invitation(&app, &slug, id).await.status(), StatusCode::NO_CONTENT);
    let listed_again = &list_invitations(&app, &slug).await[0];
    assert_eq!(listed_again["revokedAt"], listed["revokedAt"], "the first revocation's time is kept");
}

#[tokio::test]
async fn creating_and_revoking_an_invitation_are_audited_once_each_with_their_actor() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let created = invite(&app, &slug).await;
    let id = created["id"].as_str().unwrap();
    revoke_invitation(&app, &slug, id).await;
    revoke_invitation(&app, &slug, id).await;

    let events = app.audit_events(&slug).await;

    let invitation_events: Vec<&Value> =
        events.iter().filter(|e| e["action"].as_str().unwrap().starts_with("invitation.")).collect();
    let actions: Vec<&str> = invitation_events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["invitation.revoked", "invitation.created"], "newest first");
    for event in &invitation_events {
        assert_eq!(event["actor"], "test-operator");
        assert_eq!(event["tenant"], slug.as_str());
        assert!(!event.to_string().contains(&token_of(&created)), "{event}");
    }
    let revoked = &invitation_events[0]["changes"];
    assert!(
        revoked.as_array().unwrap().contains(&json!({"field": "/state", "from": "pending", "to": "revoked"}))
    );
    assert!(invitation_events[1]["changes"].as_array().unwrap().contains(&json!({"field": "/id", "to": id})));
}

#[tokio::test]
async fn an_invitation_past_its_expiry_reads_expired_and_its_page_is_gone() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let created = invite(&app, &slug).await;
    expire(&app, created["id"].as_str().unwrap()).await;

    assert_eq!(list_invitations(&app, &slug).await[0]["state"], "expired");
    let page = open_page(&app, &token_of(&created)).await;
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("This invitation has expired"));
}

#[tokio::test]
async fn a_used_invitation_shows_who_connected_it_and_cannot_be_revoked() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let created = invite(&app, &slug).await;
    let id = created["id"].as_str().unwrap();
    mark_connected(&app, id, CUSTOMER_TENANT, CUSTOMER_ADMIN, "Megan Bowen").await;

    let refused =
        assert_problem(revoke_invitation(&app, &slug, id).await, StatusCode::CONFLICT, "conflict").await;

    assert!(refused["detail"].as_str().unwrap().contains("was used"), "{refused}");
    let listed = &list_invitations(&app, &slug).await[0];
    assert_eq!(listed["state"], "connected");
    assert_eq!(listed["connectedTenantId"], CUSTOMER_TENANT);
    assert_eq!(listed["connectedBy"], json!({"oid": CUSTOMER_ADMIN, "name": "Megan Bowen"}));
    assert!(listed["consumedAt"].is_string(), "{listed}");
}

#[tokio::test]
async fn a_tenant_whose_apps_lack_the_onboarding_app_gets_no_invitation() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let other_app = json!({"entra": {"allowedAppIds": ["99999999-8888-7777-6666-555555555555"]}});
    assert_eq!(app.patch_tenant(&slug, Some("*"), &other_app).await.status(), StatusCode::OK);

    let refused =
        assert_problem(create_invitation(&app, &slug, None).await, StatusCode::CONFLICT, "conflict").await;

    assert!(refused["detail"].as_str().unwrap().contains("ACSGW_ONBOARDING_CLIENT_ID"), "{refused}");
    assert!(list_invitations(&app, &slug).await.is_empty());
}

#[tokio::test]
async fn invitations_of_an_unknown_tenant_and_unknown_or_foreign_ids_are_not_found() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let (other, _) = app.create_tenant().await;
    let foreign = invite(&app, &other).await;
    let foreign_id = foreign["id"].as_str().unwrap();

    assert_problem(create_invitation(&app, "no-such-tenant", None).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let unknown =
        app.admin(Method::GET, "/admin/v1/tenants/no-such-tenant/invitations").send().await.unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    for id in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned(), foreign_id.to_owned()] {
        let body =
            assert_problem(revoke_invitation(&app, &slug, &id).await, StatusCode::NOT_FOUND, "not_found")
                .await;
        assert_eq!(body["detail"], "invitation not found", "{id}");
    }
    assert_eq!(list_invitations(&app, &other).await[0]["state"], "pending", "another tenant's stays open");
    assert_eq!(open_page(&app, &token_of(&foreign)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn deleting_a_tenant_deletes_its_invitations_and_their_links_name_nothing() {
    let app = spawn_onboarding_app().await;
    let (slug, _) = app.create_tenant().await;
    let created = invite(&app, &slug).await;

    let deleted = app.admin(Method::DELETE, &format!("/admin/v1/tenants/{slug}")).send().await.unwrap();

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM invitations").fetch_one(&app.pool).await.unwrap();
    assert_eq!(left, 0);
    assert_eq!(open_page(&app, &token_of(&created)).await.status(), StatusCode::NOT_FOUND);
}
