//! Org API keys and stack API keys: tokens only on create, uniqueness,
//! expiry.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::{ACME_TOKEN, Api, OTHER_TOKEN};

#[tokio::test]
async fn org_key_token_is_returned_only_on_create() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let created = acme
        .post(
            "/orgs/acme/api-keys",
            json!({ "name": "ci", "role": "Viewer" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let token = created.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        (created.body["name"].as_str(), created.body["role"].as_str()),
        (Some("ci"), Some("Viewer"))
    );
    assert_eq!(created.body["orgSlug"], "acme");

    let listed = acme.get("/orgs/acme/api-keys").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].get("token").is_none());
    let read = acme.get("/orgs/acme/api-keys/ci").await;
    assert!(read.body.get("token").is_none());
    assert!(!listed.body.to_string().contains(&token));

    let keys = sim.control().org_keys("acme");
    assert_eq!(keys[0].token.expose(), token);
    assert_eq!(
        format!("{:?}", keys[0]).matches(&token).count(),
        0,
        "Debug leaks the token"
    );
}

#[tokio::test]
async fn org_key_names_are_unique_per_org() {
    let sim = support::start().await;
    let body = json!({ "name": "deploy", "role": "Admin" });
    let acme = Api::new(&sim, ACME_TOKEN);
    assert_eq!(
        acme.post("/orgs/acme/api-keys", body.clone()).await.status,
        StatusCode::OK
    );
    let duplicate = acme.post("/orgs/acme/api-keys", body.clone()).await;
    assert_eq!(
        (duplicate.status, duplicate.code()),
        (StatusCode::CONFLICT, "Conflict")
    );
    let other = Api::new(&sim, OTHER_TOKEN)
        .post("/orgs/other/api-keys", body)
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(sim.control().org_keys("acme").len(), 1);
    let bad_role = acme
        .post(
            "/orgs/acme/api-keys",
            json!({ "name": "x", "role": "Owner" }),
        )
        .await;
    assert_eq!(bad_role.code(), "InvalidArgument");
}

#[tokio::test]
async fn deleting_an_org_key_removes_it_and_its_access() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let created = acme
        .post(
            "/orgs/acme/api-keys",
            json!({ "name": "admin", "role": "Admin" }),
        )
        .await;
    let as_key = Api::new(&sim, created.body["token"].as_str().unwrap());
    assert_eq!(
        as_key.get("/orgs/acme/instances").await.status,
        StatusCode::OK
    );

    let deleted = acme.delete("/orgs/acme/api-keys/admin").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(
        acme.get("/orgs/acme/api-keys/admin").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        acme.delete("/orgs/acme/api-keys/admin").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        as_key.get("/orgs/acme/instances").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(sim.control().org_keys("acme").is_empty());
}

#[tokio::test]
async fn stack_key_returns_id_name_key_once_and_records_its_expiry() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("keyed").await;
    let body = json!({ "name": "writer", "role": "Editor", "secondsToLive": 1 });
    let created = acme
        .post("/instances/keyed/api/auth/keys", body.clone())
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let fields: Vec<&String> = created.body.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["id", "key", "name"]);
    let token = created.body["key"].as_str().unwrap();

    let keys = sim.control().stack_keys("keyed");
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (keys[0].token.expose(), keys[0].role.as_str()),
        (token, "Editor")
    );
    assert_eq!(keys[0].seconds_to_live, Some(1));
    assert!(keys[0].expires_at.is_some());
    assert!(!keys[0].expired);
    let state = acme.get("/instances/keyed").await.body.to_string();
    assert!(!state.contains(token), "a read returned the key");

    let duplicate = acme.post("/instances/keyed/api/auth/keys", body).await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let viewer = json!({ "name": "forever", "role": "Viewer" });
    acme.post("/instances/keyed/api/auth/keys", viewer).await;

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let keys = sim.control().stack_keys("keyed");
    assert!(
        keys[0].expired,
        "key with secondsToLive=1 should have expired"
    );
    assert_eq!(
        (keys[1].expires_at.as_deref(), keys[1].expired),
        (None, false)
    );
}

#[tokio::test]
async fn stack_keys_need_a_live_stack_and_a_grafana_role() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let missing = acme
        .post(
            "/instances/nostack/api/auth/keys",
            json!({ "name": "k", "role": "Admin" }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    acme.create_stack("roles").await;
    let bad = acme
        .post(
            "/instances/roles/api/auth/keys",
            json!({ "name": "k", "role": "MetricsPublisher" }),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::CONFLICT, "InvalidArgument")
    );
    acme.delete("/instances/roles").await;
    let deleted = acme
        .post(
            "/instances/roles/api/auth/keys",
            json!({ "name": "k", "role": "Admin" }),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
}
