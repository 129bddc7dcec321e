//! Access policies and their tokens as grafana.com serves them: region on every call, names
//! unique per org and region, cursor pages, expired tokens hidden, tokens returned once and
//! usable as bearer tokens, and the removed API key routes.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use grafana_cloud_simulator::Simulator;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ACME_TOKEN, Api, OTHER_TOKEN};

fn policy(name: &str, stack_id: &Value) -> Value {
    json!({
        "name": name,
        "scopes": ["metrics:write", "logs:write"],
        "realms": [{"type": "stack", "identifier": stack_id.to_string(), "labelPolicies": []}],
    })
}

#[tokio::test]
async fn every_v1_call_needs_a_region_and_policies_are_unique_per_region() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let stack = acme.create_stack("acmepol").await;
    let missing = acme
        .post("/v1/accesspolicies", policy("p", &stack["id"]))
        .await;
    assert_eq!(missing.status, StatusCode::CONFLICT);
    assert_eq!(missing.message(), "Field is required: region");

    let created = acme
        .post("/v1/accesspolicies?region=eu", policy("p", &stack["id"]))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    assert_eq!(created.body["status"], "active");
    let again = acme
        .post("/v1/accesspolicies?region=eu", policy("p", &stack["id"]))
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "names are unique per region"
    );
    let elsewhere = acme
        .post("/v1/accesspolicies?region=us", policy("p", &stack["id"]))
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::CONFLICT,
        "a stack realm must be in the region"
    );
    assert_eq!(elsewhere.code(), "InvalidArgument");
    let bad_scope = acme
        .post(
            "/v1/accesspolicies?region=eu",
            json!({"name": "q", "scopes": ["stack-service-accounts:read"],
                   "realms": [{"type": "stack", "identifier": stack["id"].to_string()}]}),
        )
        .await;
    assert!(
        bad_scope.message().contains("unsupported scope"),
        "{:?}",
        bad_scope.body
    );

    // Another org sees nothing, even by id.
    let id = created.body["id"].as_str().unwrap();
    let other = Api::new(&sim, OTHER_TOKEN);
    let foreign = other
        .get(&format!("/v1/accesspolicies/{id}?region=eu"))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lists_come_in_cursor_pages() {
    let sim = support::builder().page_size(2).start().await.unwrap();
    let acme = Api::new(&sim, ACME_TOKEN);
    let stack = acme.create_stack("acmepages").await;
    for i in 0..5 {
        let reply = acme
            .post(
                "/v1/accesspolicies?region=eu",
                policy(&format!("p{i}"), &stack["id"]),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let mut names = Vec::new();
    let mut path = "/v1/accesspolicies?region=eu&pageSize=10".to_string();
    for _ in 0..5 {
        let page = acme.get(&path).await;
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2, "a page holds at most the configured size");
        names.extend(
            items
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string()),
        );
        match page.body["metadata"]["pagination"]["nextPage"].as_str() {
            Some(next) => path = next.to_string(),
            None => break,
        }
    }
    assert_eq!(names, ["p0", "p1", "p2", "p3", "p4"]);
}

#[tokio::test]
async fn tokens_are_returned_once_authenticate_and_hide_when_expired() {
    let sim = support::builder()
        .token_activation_delay(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let acme = Api::new(&sim, ACME_TOKEN);
    let stack = acme.create_stack("acmetok").await;
    let policy = acme
        .post(
            "/v1/accesspolicies?region=eu",
            policy("writer", &stack["id"]),
        )
        .await;
    let policy_id = policy.body["id"].as_str().unwrap();
    let body = json!({"accessPolicyId": policy_id, "name": "t1"});
    let created = acme.post("/v1/tokens?region=eu", body.clone()).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let secret = created.body["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("glc_"));
    let dup = acme.post("/v1/tokens?region=eu", body).await;
    assert_eq!(
        dup.status,
        StatusCode::CONFLICT,
        "token names are unique per org"
    );

    let listed = acme
        .get(&format!("/v1/tokens?region=eu&accessPolicyId={policy_id}"))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(
        listed.body["items"][0].get("token").is_none(),
        "reads never show the secret"
    );

    // The new token works only after the activation delay.
    let as_token = Api::new(&sim, &secret);
    assert_eq!(
        as_token.get("/orgs/acme").await.status,
        StatusCode::UNAUTHORIZED
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(as_token.get("/orgs/acme").await.status, StatusCode::OK);

    let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(1)).to_rfc3339();
    let short = acme
        .post(
            "/v1/tokens?region=eu",
            json!({"accessPolicyId": policy_id, "name": "t2", "expiresAt": soon}),
        )
        .await;
    let short_id = short.body["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let gone = acme.get(&format!("/v1/tokens/{short_id}?region=eu")).await;
    assert_eq!(
        gone.status,
        StatusCode::NOT_FOUND,
        "an expired token answers 404"
    );
    let visible = acme.get("/v1/tokens?region=eu").await;
    assert_eq!(visible.body["items"].as_array().unwrap().len(), 1);
    let all = acme.get("/v1/tokens?region=eu&includeExpired=true").await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);

    // Deleting the policy deletes its tokens.
    let deleted = acme
        .delete(&format!("/v1/accesspolicies/{policy_id}?region=eu"))
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert!(sim.control().policy_tokens("acme").is_empty());
}

#[tokio::test]
async fn removed_api_key_routes_answer_as_grafana_com_does_today() {
    let sim = Simulator::builder()
        .org("acme", ACME_TOKEN)
        .api_keys_removed()
        .start()
        .await
        .unwrap();
    let acme = Api::new(&sim, ACME_TOKEN);
    let org_key = acme
        .post(
            "/orgs/acme/api-keys",
            json!({"name": "k", "role": "Viewer"}),
        )
        .await;
    assert_eq!(org_key.status, StatusCode::NOT_FOUND);
    acme.create_stack("legacy").await;
    let stack_key = acme
        .post(
            "/instances/legacy/api/auth/keys",
            json!({"name": "k", "role": "Admin"}),
        )
        .await;
    assert_eq!(stack_key.status, StatusCode::GONE);
    assert!(stack_key.message().contains("serviceaccounts"));
}
