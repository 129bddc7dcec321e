//! grafana.com stack semantics, over real HTTP.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use grafana_cloud_simulator::ForeignStack;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{ACME_TOKEN, Api, OTHER_TOKEN};

#[tokio::test]
async fn wrong_or_missing_token_is_rejected_with_invalid_credentials() {
    let sim = support::start().await;
    let reply = Api::new(&sim, "wrong").get("/orgs/acme/instances").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "InvalidCredentials");
    assert!(reply.body["requestId"].is_string());

    let bare = support::http()
        .get(format!("{}/orgs/acme/instances", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert!(sim.control().stacks().is_empty());
}

#[tokio::test]
async fn created_stack_carries_endpoints_labels_and_org() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let stack = acme.create_stack("alpha").await;
    assert_eq!(stack["slug"], "alpha");
    assert_eq!(stack["name"], "alpha.grafana.net");
    assert_eq!(stack["url"], "https://alpha.grafana.net");
    assert_eq!(stack["status"], "active");
    assert_eq!(stack["orgSlug"], "acme");
    assert_eq!(stack["regionSlug"], "eu");
    assert_eq!(stack["description"], "test stack");
    assert_eq!(stack["labels"], json!({ "team": "platform" }));
    for prefix in [
        "hmInstanceProm",
        "hlInstance",
        "htInstance",
        "amInstance",
        "hpInstance",
        "hmInstanceGraphite",
    ] {
        assert!(
            stack[format!("{prefix}Url")]
                .as_str()
                .unwrap()
                .starts_with("https://"),
            "{prefix}"
        );
        assert!(
            stack[format!("{prefix}Id")].as_u64().unwrap() > 0,
            "{prefix}"
        );
    }
    let id = stack["id"].as_u64().unwrap();
    let by_id = acme.get(&format!("/instances/{id}")).await;
    assert_eq!(by_id.body["slug"], "alpha");

    let list = acme.get("/orgs/acme/instances").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["total"], 1);
    let other_list = Api::new(&sim, OTHER_TOKEN)
        .get("/orgs/other/instances")
        .await;
    assert_eq!(other_list.body["items"], json!([]));
}

#[tokio::test]
async fn another_orgs_stack_is_forbidden_by_default_or_not_found_when_configured() {
    let sim = support::start().await;
    Api::new(&sim, ACME_TOKEN).create_stack("mine").await;
    let other = Api::new(&sim, OTHER_TOKEN);
    let attempts = [
        other.get("/instances/mine").await,
        other
            .post("/instances/mine", json!({ "description": "hijack" }))
            .await,
        other.delete("/instances/mine").await,
        other
            .call(Method::POST, "/instances/mine/restart", None)
            .await,
        other.get("/instances/mine/readiness").await,
        other.get("/instances/mine/datasources").await,
        other
            .post(
                "/instances/mine/api/auth/keys",
                json!({ "name": "k", "role": "Admin" }),
            )
            .await,
        other.get("/orgs/acme/instances").await,
        other.get("/orgs/acme/api-keys").await,
    ];
    for reply in attempts {
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{:?}", reply.body);
        assert_eq!(reply.code(), "Forbidden");
    }
    let stack = sim.control().stack("mine").unwrap();
    assert_eq!(
        (
            stack.status.as_str(),
            stack.description.as_str(),
            stack.restarts
        ),
        ("active", "test stack", 0)
    );
    assert!(stack.keys.is_empty());

    let hidden = support::builder()
        .foreign_stack(ForeignStack::NotFound)
        .start()
        .await
        .unwrap();
    Api::new(&hidden, ACME_TOKEN).create_stack("mine").await;
    let reply = Api::new(&hidden, OTHER_TOKEN).get("/instances/mine").await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::NOT_FOUND, "NotFound")
    );
}

#[tokio::test]
async fn slugs_are_unique_across_orgs() {
    let sim = support::start().await;
    Api::new(&sim, ACME_TOKEN).create_stack("shared").await;
    for token in [ACME_TOKEN, OTHER_TOKEN] {
        let reply = Api::new(&sim, token)
            .post("/instances", support::stack_body("shared"))
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        assert_eq!(reply.message(), "That url is not available");
    }
    assert_eq!(sim.control().stacks().len(), 1);
}

#[tokio::test]
async fn slug_and_label_rules_answer_409_invalid_argument() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let long = format!("a{}", "b".repeat(29));
    for slug in [
        "",
        "1abc",
        "Upper",
        "with-dash",
        "with_underscore",
        long.as_str(),
    ] {
        let reply = acme.post("/instances", support::stack_body(slug)).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "slug {slug:?}");
        assert_eq!(reply.code(), "InvalidArgument", "slug {slug:?}");
    }
    let max = format!("a{}", "b".repeat(28));
    acme.create_stack(&max).await;

    let mut body = support::stack_body("labelled");
    body["labels"] = json!({ "bad key": "x" });
    assert_eq!(
        acme.post("/instances", body).await.code(),
        "InvalidArgument"
    );
    let mut body = support::stack_body("labelled");
    body["labels"] = (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(
        acme.post("/instances", body).await.code(),
        "InvalidArgument"
    );
    let mut body = support::stack_body("labelled");
    body["url"] = json!("http://insecure.example.com");
    assert_eq!(
        acme.post("/instances", body).await.code(),
        "InvalidArgument"
    );
    assert_eq!(sim.control().stacks().len(), 1);
}

#[tokio::test]
async fn deleted_stack_reads_as_deleted_and_its_slug_is_reserved_for_a_while() {
    let sim = support::start().await; // reservation: 2 s
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("gone").await;
    let deleted = acme.delete("/instances/gone").await;
    assert_eq!(
        (deleted.status, deleted.body["status"].as_str()),
        (StatusCode::OK, Some("deleted"))
    );
    assert_eq!(acme.get("/instances/gone").await.body["status"], "deleted");
    assert_eq!(
        acme.delete("/instances/gone").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(acme.get("/orgs/acme/instances").await.body["total"], 0);

    for token in [ACME_TOKEN, OTHER_TOKEN] {
        let reply = Api::new(&sim, token)
            .post("/instances", support::stack_body("gone"))
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        let message = reply.message();
        assert!(message.contains("deleted recently"), "{message}");
        let wait: u64 = message
            .split("wait for ")
            .nth(1)
            .and_then(|rest| rest.split('s').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no 'wait for Ns' in {message}"));
        assert!((1..=2).contains(&wait), "{message}");
    }

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(sim.control().stack("gone").is_none(), "reservation ended");
    assert_eq!(
        acme.get("/instances/gone").await.status,
        StatusCode::NOT_FOUND
    );
    let again = Api::new(&sim, OTHER_TOKEN).create_stack("gone").await;
    assert_eq!(again["orgSlug"], "other");
}

#[tokio::test]
async fn readiness_turns_true_after_the_configured_delay() {
    let sim = support::start().await; // readiness: 300 ms
    let acme = Api::new(&sim, ACME_TOKEN);
    let stack = acme.create_stack("slowpoke").await;
    assert_eq!(stack["status"], "active");
    let id = stack["id"].as_u64().unwrap();
    assert_eq!(
        acme.get(&format!("/instances/{id}/readiness")).await.body,
        json!({ "ready": false })
    );
    assert!(!sim.control().stack("slowpoke").unwrap().ready);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        acme.get(&format!("/instances/{id}/readiness")).await.body,
        json!({ "ready": true })
    );
    assert_eq!(
        acme.get("/instances/slowpoke/readiness").await.body,
        json!({ "ready": true })
    );
}

#[tokio::test]
async fn update_changes_only_the_fields_sent() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("drift").await;
    let patch = json!({ "description": "new", "labels": { "env": "prod" } });
    let updated = acme.post("/instances/drift", patch).await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(updated.body["description"], "new");
    assert_eq!(updated.body["labels"], json!({ "env": "prod" }));
    assert_eq!(updated.body["name"], "drift.grafana.net");
    assert!(updated.body["updatedAt"].is_string());
    let renamed = acme
        .post(
            "/instances/drift",
            json!({ "name": "Drift", "url": "https://drift.example.com" }),
        )
        .await;
    assert_eq!(
        (renamed.body["name"].as_str(), renamed.body["url"].as_str()),
        (Some("Drift"), Some("https://drift.example.com"))
    );
    assert_eq!(
        acme.get("/instances/drift").await.body["description"],
        "new"
    );
    let slug_change = acme
        .post("/instances/drift", json!({ "slug": "other" }))
        .await;
    assert_eq!(slug_change.code(), "InvalidArgument");
}

#[tokio::test]
async fn delete_protection_refuses_deletion_until_disabled() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let mut body = support::stack_body("safe");
    body["deleteProtection"] = json!(true);
    assert_eq!(
        acme.post("/instances", body).await.body["deleteProtection"],
        true
    );
    let refused = acme.delete("/instances/safe").await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::CONFLICT, "Conflict")
    );
    assert_eq!(sim.control().stack("safe").unwrap().status, "active");
    acme.post("/instances/safe", json!({ "deleteProtection": false }))
        .await;
    assert_eq!(acme.delete("/instances/safe").await.status, StatusCode::OK);
}

#[tokio::test]
async fn restarts_are_counted() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("bouncy").await;
    for _ in 0..3 {
        let reply = acme
            .call(Method::POST, "/instances/bouncy/restart", None)
            .await;
        assert_eq!(
            (reply.status, reply.body.clone()),
            (StatusCode::OK, json!(true))
        );
    }
    assert_eq!(sim.control().stack("bouncy").unwrap().restarts, 3);
    assert_eq!(
        acme.call(Method::POST, "/instances/nothere/restart", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn provisioned_data_sources_come_with_each_stack_and_can_be_deleted() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    let stack = acme.create_stack("ds").await;
    let list = acme.get("/instances/ds/datasources").await;
    let items = list.body["items"].as_array().unwrap().clone();
    let types: Vec<&str> = items.iter().map(|d| d["type"].as_str().unwrap()).collect();
    for wanted in ["prometheus", "loki", "tempo", "alertmanager"] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    for item in &items {
        assert_eq!(item["instanceId"], stack["id"]);
        assert!(
            item["name"]
                .as_str()
                .unwrap()
                .starts_with("grafanacloud-ds-")
        );
    }
    let prom = items.iter().find(|d| d["type"] == "prometheus").unwrap();
    assert_eq!(prom["url"], stack["hmInstancePromUrl"]);
    assert_eq!(prom["user"], stack["hmInstancePromId"].to_string());

    let id = prom["id"].as_u64().unwrap();
    assert_eq!(
        acme.delete(&format!("/instances/ds/datasources/{id}"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        acme.delete(&format!("/instances/ds/datasources/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let after = acme.get("/instances/ds/datasources").await;
    assert_eq!(
        after.body["items"].as_array().unwrap().len(),
        items.len() - 1
    );
    assert_eq!(
        sim.control().stack("ds").unwrap().datasources.len(),
        items.len() - 1
    );
}
