//! Stack service accounts and their tokens through the grafana.com proxy: 503 `Loading`
//! until the stack is ready, 201 on create, 400 for duplicate names, keys returned once,
//! expired tokens still listed, 405 for PATCH, 404 for other proxied paths.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{ACME_TOKEN, Api};

#[tokio::test]
async fn service_accounts_wait_for_the_stack_then_answer_as_grafana_does() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("saproxy").await;
    let body = json!({"name": "ci", "role": "Editor"});
    let early = acme
        .post("/instances/saproxy/api/serviceaccounts", body.clone())
        .await;
    assert_eq!(
        early.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the stack is still loading"
    );
    assert_eq!(early.code(), "Loading");
    assert!(early.headers.get("retry-after").is_some());
    assert!(
        support::eventually(Duration::from_secs(5), || async {
            acme.get("/instances/saproxy/readiness").await.body["ready"] == true
        })
        .await
    );

    let created = acme
        .post("/instances/saproxy/api/serviceaccounts", body.clone())
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["role"], "Editor");
    let dup = acme
        .post("/instances/saproxy/api/serviceaccounts", body)
        .await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        dup.body["messageId"], "serviceaccounts.ErrAlreadyExists",
        "Grafana's own error envelope"
    );
    let id = created.body["id"].as_u64().unwrap();
    let found = acme
        .get("/instances/saproxy/api/serviceaccounts/search?query=ci")
        .await;
    assert_eq!(found.body["totalCount"], 1);

    let tokens = format!("/instances/saproxy/api/serviceaccounts/{id}/tokens");
    let token = acme
        .post(&tokens, json!({"name": "t", "secondsToLive": 1}))
        .await;
    assert!(token.body["key"].as_str().unwrap().starts_with("glsa_"));
    let again = acme.post(&tokens, json!({"name": "t"})).await;
    assert_eq!(again.code(), "serviceaccounts.ErrTokenAlreadyExists");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let listed = acme.get(&tokens).await;
    assert_eq!(
        listed.body[0]["hasExpired"], true,
        "expired tokens are still listed"
    );
    assert!(
        listed.body[0].get("key").is_none(),
        "lists never show the key"
    );

    let patch = acme
        .try_call(
            Method::PATCH,
            &format!("/instances/saproxy/api/serviceaccounts/{id}"),
            Some(json!({})),
        )
        .await
        .unwrap();
    assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED);
    let other = acme.get("/instances/saproxy/api/users").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let token_id = token.body["id"].as_u64().unwrap();
    let gone = acme.delete(&format!("{tokens}/{token_id}")).await;
    assert_eq!(gone.status, StatusCode::OK);
    assert!(
        sim.control().service_accounts("saproxy")[0]
            .tokens
            .is_empty()
    );
}
