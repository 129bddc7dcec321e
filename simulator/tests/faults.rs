//! Each fault kind, over real HTTP.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use grafana_cloud_simulator::Fault;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{ACME_TOKEN, Api, OTHER_TOKEN};

#[tokio::test]
async fn latency_fault_delays_matching_requests_only() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("slow").await;
    let fault = Fault::latency(Duration::from_millis(150), Duration::from_millis(50));
    sim.control()
        .inject(fault.on("GET", "/api/instances/{slug}"));

    let started = Instant::now();
    assert_eq!(acme.get("/instances/slow").await.status, StatusCode::OK);
    let slow = started.elapsed();
    assert!(
        slow >= Duration::from_millis(150) && slow < Duration::from_secs(3),
        "{slow:?}"
    );

    acme.get("/instances/slow/readiness").await;
    let recorded = sim.control().requests();
    let fault_of = |template: &str| {
        let request = recorded
            .iter()
            .find(|r| r.template.as_deref() == Some(template));
        request.unwrap().fault.clone()
    };
    assert_eq!(
        fault_of("/api/instances/{slug}").as_deref(),
        Some("latency")
    );
    assert_eq!(fault_of("/api/instances/{slug}/readiness"), None);
}

#[tokio::test]
async fn latency_after_the_action_lets_a_timed_out_create_succeed_anyway() {
    let sim = support::start().await;
    let delay = Fault::latency_after_action(Duration::from_millis(1500), Duration::ZERO);
    sim.control()
        .inject(delay.on("POST", "/api/instances").times(1));
    let outcome = support::http()
        .post(format!("{}/instances", sim.base_url()))
        .bearer_auth(ACME_TOKEN)
        .json(&support::stack_body("timedout"))
        .timeout(Duration::from_millis(400))
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
    assert_eq!(sim.control().stack("timedout").unwrap().status, "active");
}

#[tokio::test]
async fn global_latency_applies_to_every_api_request() {
    let sim = support::builder()
        .latency(Duration::from_millis(80), Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    Api::new(&sim, ACME_TOKEN).get("/orgs/acme/instances").await;
    assert!(started.elapsed() >= Duration::from_millis(80));
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_for_the_next_n_requests() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    sim.control()
        .inject(Fault::rate_limit(17).on("POST", "/api/instances").times(2));
    for _ in 0..2 {
        let reply = acme
            .post("/instances", support::stack_body("limited"))
            .await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.headers["retry-after"], "17");
        assert!(reply.body["requestId"].is_string());
    }
    assert!(sim.control().stacks().is_empty());
    acme.create_stack("limited").await;
    assert!(sim.control().faults().is_empty());
    assert_eq!(sim.control().count("POST", "/api/instances"), 3);
}

#[tokio::test]
async fn error_before_the_action_changes_nothing() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    sim.control().inject(
        Fault::error_before(500)
            .on("POST", "/api/instances")
            .times(1),
    );
    let reply = acme.post("/instances", support::stack_body("before")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.code().len() > 1);
    assert!(sim.control().stack("before").is_none());
    acme.create_stack("before").await;
}

#[tokio::test]
async fn error_after_the_action_commits_it_then_fails() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    sim.control().inject(
        Fault::error_after(502)
            .on("POST", "/api/instances")
            .times(1),
    );
    let reply = acme.post("/instances", support::stack_body("after")).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    assert_eq!(sim.control().stack("after").unwrap().status, "active");
    // A careful client reads the stack back by slug instead of creating it again.
    assert_eq!(acme.get("/instances/after").await.body["slug"], "after");
    let again = acme.post("/instances", support::stack_body("after")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn loading_applies_to_stack_proxied_endpoints_only() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("warmup").await;
    sim.control().inject(Fault::loading(10).times(2));
    assert_eq!(acme.get("/instances/warmup").await.status, StatusCode::OK);
    let key = json!({ "name": "k", "role": "Admin" });
    for reply in [
        acme.get("/instances/warmup/datasources").await,
        acme.post("/instances/warmup/api/auth/keys", key.clone())
            .await,
    ] {
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.code(), "Loading");
        assert_eq!(reply.headers["retry-after"], "10");
    }
    assert!(sim.control().stack_keys("warmup").is_empty());
    assert_eq!(
        acme.post("/instances/warmup/api/auth/keys", key)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn dropped_connection_before_the_action_leaves_no_trace() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    sim.control().inject(
        Fault::drop_connection()
            .on("POST", "/api/instances")
            .times(1),
    );
    let error = acme
        .try_call(Method::POST, "/instances", Some(support::stack_body("cut")))
        .await;
    assert!(
        error.is_err(),
        "expected a transport error, got {:?}",
        error.map(|r| r.status)
    );
    assert!(sim.control().stack("cut").is_none());
    let recorded = sim.control().requests();
    assert_eq!(recorded[0].status, None);
    assert_eq!(recorded[0].fault.as_deref(), Some("dropConnection"));
    acme.create_stack("cut").await;
}

#[tokio::test]
async fn dropped_connection_after_the_action_keeps_the_action() {
    let sim = support::start().await;
    let acme = Api::new(&sim, ACME_TOKEN);
    acme.create_stack("half").await;
    sim.control()
        .inject(Fault::drop_connection_after_action().on("DELETE", "/api/instances/{slug}"));
    assert!(
        acme.try_call(Method::DELETE, "/instances/half", None)
            .await
            .is_err()
    );
    assert_eq!(sim.control().stack("half").unwrap().status, "deleted");
}

#[tokio::test]
async fn faults_can_target_one_org() {
    let sim = support::start().await;
    sim.control()
        .inject(Fault::error_before(503).for_org("other"));
    assert_eq!(
        Api::new(&sim, ACME_TOKEN)
            .get("/orgs/acme/instances")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        Api::new(&sim, OTHER_TOKEN)
            .get("/orgs/other/instances")
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn faults_are_injected_listed_and_cleared_over_http() {
    let sim = support::start().await;
    let http = support::http();
    let control = sim.control_url();
    let fault = json!({
        "kind": "rateLimit", "retryAfterSecs": 3,
        "method": "GET", "template": "/api/orgs/{org}/instances", "times": 5,
    });
    let injected: serde_json::Value = http
        .post(format!("{control}/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = injected["id"].as_u64().unwrap();
    let reply = Api::new(&sim, ACME_TOKEN).get("/orgs/acme/instances").await;
    assert_eq!(
        (reply.status, reply.headers["retry-after"].to_str().unwrap()),
        (StatusCode::TOO_MANY_REQUESTS, "3")
    );

    let listed: serde_json::Value = http
        .get(format!("{control}/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (listed[0]["id"].as_u64(), listed[0]["times"].as_u64()),
        (Some(id), Some(4))
    );
    let removed = http
        .delete(format!("{control}/faults/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        Api::new(&sim, ACME_TOKEN)
            .get("/orgs/acme/instances")
            .await
            .status,
        StatusCode::OK
    );

    let drop = json!({ "kind": "dropConnection", "template": "/api/orgs/{org}/instances" });
    http.post(format!("{control}/faults"))
        .json(&drop)
        .send()
        .await
        .unwrap();
    assert!(
        Api::new(&sim, ACME_TOKEN)
            .try_call(Method::GET, "/orgs/acme/instances", None)
            .await
            .is_err()
    );
    http.delete(format!("{control}/faults"))
        .send()
        .await
        .unwrap();
    assert!(sim.control().faults().is_empty());
}
