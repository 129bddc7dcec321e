//! The test-control API: state, reset, recorded requests, counters, timings.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use grafana_cloud_simulator::Timings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ACME_TOKEN, Api, OTHER_TOKEN};

async fn get_json(url: String) -> Value {
    support::http()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_are_recorded_with_template_status_and_org() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("seen").await;
    acme.get("/instances/seen").await;
    Api::new(&sim, "bogus").get("/instances/seen").await;
    Api::new(&sim, OTHER_TOKEN).get("/instances/seen").await;

    let recorded = sim.control().requests();
    let summary: Vec<_> = recorded
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.template.as_deref().unwrap(),
                r.status,
                r.org.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "POST",
                "/api/instances",
                "/api/instances",
                Some(200),
                Some("acme")
            ),
            (
                "GET",
                "/api/instances/seen",
                "/api/instances/{slug}",
                Some(200),
                Some("acme")
            ),
            (
                "GET",
                "/api/instances/seen",
                "/api/instances/{slug}",
                Some(401),
                None
            ),
            (
                "GET",
                "/api/instances/seen",
                "/api/instances/{slug}",
                Some(403),
                Some("other")
            ),
        ]
    );
    assert_eq!(sim.control().count("GET", "/api/instances/{slug}"), 3);
    assert_eq!(sim.control().count("get", "/api/instances/{slug}"), 3);
    assert_eq!(sim.control().count("DELETE", "/api/instances/{slug}"), 0);

    let over_http = get_json(format!("{}/requests", sim.control_url())).await;
    assert_eq!(over_http.as_array().unwrap().len(), 4);
    assert_eq!(over_http[2]["status"], 401);
    let since = get_json(format!("{}/requests?since=2", sim.control_url())).await;
    let seqs: Vec<u64> = since
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 4]);
    assert_eq!(sim.control().requests_since(3).len(), 1);
    let counters = get_json(format!("{}/counters", sim.control_url())).await;
    assert_eq!(
        counters,
        json!({ "GET /api/instances/{slug}": 3, "POST /api/instances": 1 })
    );
}

#[tokio::test]
async fn whole_state_is_readable_over_http_with_issued_tokens() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("visible").await;
    let key = acme
        .post(
            "/instances/visible/api/auth/keys",
            json!({ "name": "k", "role": "Admin", "secondsToLive": 60 }),
        )
        .await;
    let org_key = acme
        .post(
            "/orgs/acme/api-keys",
            json!({ "name": "o", "role": "Editor" }),
        )
        .await;
    acme.call(Method::POST, "/instances/visible/restart", None)
        .await;

    let state = get_json(format!("{}/state", sim.control_url())).await;
    let orgs: Vec<&str> = state["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["acme", "other"]);
    let text = state.to_string();
    assert!(
        !text.contains(ACME_TOKEN) && !text.contains(OTHER_TOKEN),
        "org bearer tokens exposed"
    );
    let stack = &state["stacks"][0];
    assert_eq!(
        (stack["slug"].as_str(), stack["restarts"].as_u64()),
        (Some("visible"), Some(1))
    );
    assert_eq!(stack["keys"][0]["token"], key.body["key"]);
    assert!(stack["keys"][0]["expiresAt"].is_string());
    assert!(stack["datasources"].as_array().unwrap().len() >= 4);
    assert_eq!(state["orgKeys"][0]["token"], org_key.body["token"]);
    assert_eq!(
        state["timings"],
        json!({ "readinessDelayMs": 300, "deletedSlugReservationMs": 2000, "tokenActivationDelayMs": 0 })
    );
    assert_eq!(sim.control().issued_tokens().len(), 2);
}

#[tokio::test]
async fn reset_forgets_stacks_keys_requests_and_faults_but_keeps_orgs() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("temp").await;
    acme.post(
        "/orgs/acme/api-keys",
        json!({ "name": "o", "role": "Editor" }),
    )
    .await;
    sim.control()
        .inject(grafana_cloud_simulator::Fault::error_before(500).for_org("other"));

    let reset = support::http()
        .post(format!("{}/reset", sim.control_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let control = sim.control();
    assert!(control.stacks().is_empty() && control.org_keys("acme").is_empty());
    assert!(
        control.requests().is_empty()
            && control.counters().is_empty()
            && control.faults().is_empty()
    );
    acme.create_stack("temp").await;
    assert_eq!(
        Api::new(&sim, OTHER_TOKEN)
            .get("/orgs/other/instances")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn timings_can_be_changed_while_running() {
    let sim = support::start().await;
    let url = format!("{}/timings", sim.control_url());
    let body = json!({ "readinessDelayMs": 0, "deletedSlugReservationMs": 0, "tokenActivationDelayMs": 0 });
    let reply = support::http().put(&url).json(&body).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        sim.control().timings(),
        Timings {
            readiness_delay: Duration::ZERO,
            deleted_slug_reservation: Duration::ZERO,
            token_activation_delay: Duration::ZERO,
        }
    );

    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("quick").await;
    assert_eq!(
        acme.get("/instances/quick/readiness").await.body["ready"],
        true
    );
    acme.delete("/instances/quick").await;
    acme.create_stack("quick").await;
    assert_eq!(get_json(url).await, body);
}
