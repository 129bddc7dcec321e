//! Access policies and their tokens through the controllers' real `apply` and `cleanup`,
//! against the grafana.com simulator over real HTTP and an in-memory API server.
//! `tests/e2e_policies.rs` runs the same lifecycle through the real binary and kube-apiserver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "policy_scenarios/lifecycle.rs"]
mod lifecycle;
#[path = "support/memory_cluster.rs"]
mod memory_cluster;

use std::time::Duration;

use captured_logs::logs;
use grafana_cloud_operator::{
    controller::conditions::is_ready,
    crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaStack},
    grafana::{PolicyBody, PolicyConditions, PolicyRealm},
};
use grafana_cloud_simulator::Fault;
use in_process::{CREDENTIALS, ORG, World, reason, world};
use serde_json::json;

const POLICIES: &str = "/api/v1/accesspolicies";
const POLICY: &str = "/api/v1/accesspolicies/{id}";
const TOKENS: &str = "/api/v1/tokens";

async fn env() -> World {
    logs();
    world(Duration::from_secs(300), |sim| sim.page_size(2)).await
}

/// GrafanaStack `main`, reconciled until Ready.
async fn ready_stack(env: &World) -> GrafanaStack {
    env.ready_stack("main", "teamamain").await
}

fn policy_spec(scopes: &[&str]) -> serde_json::Value {
    json!({
        "realms": [{"type": "stack", "stackRef": "main"}],
        "scopes": scopes,
        "credentials": {"secretName": CREDENTIALS},
    })
}

/// The stack, policy `writers` Ready, and token `push` with a stack template, reconciled.
async fn pushing(env: &World, token_spec: serde_json::Value) {
    ready_stack(env).await;
    env.put::<GrafanaCloudAccessPolicy>("writers", policy_spec(&["metrics:write", "logs:write"]));
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    let policy: GrafanaCloudAccessPolicy = env.get("writers");
    let status = policy.status.unwrap();
    assert!(
        is_ready(&status.conditions),
        "policy Ready: {:?}",
        status.conditions
    );
    env.put::<GrafanaCloudAccessPolicyToken>("push", token_spec);
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
}

fn token_status(env: &World) -> grafana_cloud_operator::crd::TokenStatus {
    env.get::<GrafanaCloudAccessPolicyToken>("push")
        .status
        .unwrap_or_default()
}

fn live_tokens(env: &World) -> Vec<String> {
    env.sim
        .control()
        .policy_tokens(ORG)
        .into_iter()
        .filter(|t| !t.expired)
        .map(|t| t.token.expose().to_string())
        .collect()
}

fn writes(env: &World) -> (u64, usize, usize) {
    let grafana = env
        .sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count() as u64;
    (
        grafana,
        env.cluster.writes("Secret"),
        env.cluster.writes("GrafanaCloudAccessPolicyToken")
            + env.cluster.writes("GrafanaCloudAccessPolicy"),
    )
}

#[tokio::test]
async fn a_token_secret_holds_a_complete_remote_write_config_and_steady_state_writes_nothing() {
    let env = env().await;
    let template = "remote_write:\n  - url: {{ stack.endpoints.prometheus.url }}/api/prom/push\n    basic_auth:\n      username: \"{{ stack.endpoints.prometheus.userId }}\"\n      password: \"{{ token }}\"\n";
    pushing(
        &env,
        json!({"policyRef": "writers", "secretTemplate": {"stackRef": "main", "data": {"prometheus.yaml": template}}}),
    )
    .await;
    let status = token_status(&env);
    assert!(
        is_ready(&status.conditions),
        "token Ready: {:?}",
        status.conditions
    );
    let live = live_tokens(&env);
    assert_eq!(live.len(), 1, "exactly one token");
    assert_eq!(env.secret_text("push", "token").unwrap(), live[0]);
    let stack: GrafanaStack = env.get("main");
    let stack_status = stack.status.unwrap();
    let region = stack_status.region_slug.clone().unwrap();
    assert_eq!(env.secret_text("push", "region").unwrap(), region);
    let prometheus = stack_status.endpoints.unwrap().prometheus.unwrap();
    assert_eq!(
        env.secret_text("push", "prometheusRemoteWriteUrl").unwrap(),
        format!("{}/api/prom/push", prometheus.url)
    );
    assert!(
        env.secret_text("push", "otlpUrl")
            .unwrap()
            .contains("otlp-gateway")
    );
    let config = env.secret_text("push", "prometheus.yaml").unwrap();
    assert!(
        config.contains(&format!("password: \"{}\"", live[0])),
        "{config}"
    );
    let policy = &env.sim.control().policies(ORG)[0];
    assert_eq!(policy.name, "team-a-writers");
    assert_eq!(
        policy.realms[0].identifier,
        stack_status.id.unwrap().to_string()
    );

    let before = writes(&env);
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    assert_eq!(writes(&env), before, "a second pass wrote something");
    let logged = logs().text();
    for token in env.sim.control().issued_tokens() {
        assert!(!logged.contains(token.expose()), "a token was logged");
    }
}

#[tokio::test]
async fn scopes_change_in_place_and_unknown_scopes_are_refused_before_any_write() {
    let env = env().await;
    pushing(&env, json!({"policyRef": "writers"})).await;
    let id = env.sim.control().policies(ORG)[0].id.clone();
    env.put::<GrafanaCloudAccessPolicy>(
        "writers",
        policy_spec(&["metrics:write", "logs:write", "traces:write"]),
    );
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    let policies = env.sim.control().policies(ORG);
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].id, id, "updated in place, not replaced");
    assert!(policies[0].scopes.contains(&"traces:write".to_string()));
    assert_eq!(env.sim.control().count("POST", POLICY), 1);

    env.put::<GrafanaCloudAccessPolicy>(
        "writers",
        policy_spec(&["metrics:write", "stack-service-accounts:read"]),
    );
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap_err();
    let status = env
        .get::<GrafanaCloudAccessPolicy>("writers")
        .status
        .unwrap();
    assert_eq!(reason(&status.conditions), "InvalidSpec");
    assert_eq!(
        env.sim.control().count("POST", POLICY),
        1,
        "no update with a bad scope"
    );
}

#[tokio::test]
async fn crashes_after_a_create_leave_one_policy_and_one_token_whose_secret_holds_it() {
    let env = env().await;
    ready_stack(&env).await;
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", POLICIES).times(1));
    env.put::<GrafanaCloudAccessPolicy>("writers", policy_spec(&["metrics:write"]));
    // The create commits but answers 500: the pass looks the name up and adopts it.
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    assert_eq!(
        env.sim.control().policies(ORG).len(),
        1,
        "exactly one policy"
    );
    let status = env
        .get::<GrafanaCloudAccessPolicy>("writers")
        .status
        .unwrap();
    assert_eq!(
        status.id.as_deref(),
        Some(env.sim.control().policies(ORG)[0].id.as_str())
    );
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    assert_eq!(
        env.sim.control().count("POST", POLICIES),
        1,
        "the create was not repeated"
    );

    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", TOKENS).times(1));
    env.put::<GrafanaCloudAccessPolicyToken>("push", json!({"policyRef": "writers"}));
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap_err();
    let lost = live_tokens(&env);
    assert_eq!(lost.len(), 1, "the token create committed");
    assert!(env.secret("push").is_none());
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    let live = live_tokens(&env);
    assert_eq!(live.len(), 1, "exactly one live token");
    assert_ne!(live, lost, "the lost token was replaced");
    assert_eq!(env.secret_text("push", "token").unwrap(), live[0]);
    assert!(
        env.cluster
            .events()
            .iter()
            .any(|e| e.reason == "TokenRecreated")
    );
}

/// A first token has no claim write before its create: its name is the resource's own. Its
/// pass writes status once, and the Secret once. After a crash between the create and any
/// status write, the next pass finds the token by that name, deletes it and creates the
/// first token again; a delete before that pass would find it too.
#[tokio::test]
async fn a_first_token_is_claimed_by_its_name_and_a_crash_before_any_status_write_is_repaired() {
    let env = env().await;
    ready_stack(&env).await;
    env.put::<GrafanaCloudAccessPolicy>("writers", policy_spec(&["metrics:write"]));
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    let fresh: GrafanaCloudAccessPolicyToken = env.put("push", json!({"policyRef": "writers"}));
    let (_, secrets, statuses) = writes(&env);
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    let (_, secrets_after, statuses_after) = writes(&env);
    assert_eq!(
        (secrets_after - secrets, statuses_after - statuses),
        (1, 1),
        "step 1: a first token costs one Secret write and one status write"
    );

    // The crash: the create went through, and nothing of the pass reached the API server.
    let lost = live_tokens(&env);
    env.cluster.put(&fresh);
    env.cluster
        .remove::<k8s_openapi::api::core::v1::Secret>(Some(in_process::NS), "push");
    assert!(
        token_status(&env).serial.is_none(),
        "step 2: no status is left"
    );
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    let live = live_tokens(&env);
    assert_eq!(live.len(), 1, "step 2: exactly one live token: {live:?}");
    assert_ne!(live, lost, "step 2: the lost first token was replaced");
    assert_eq!(env.secret_text("push", "token").unwrap(), live[0]);
    assert!(
        env.cluster
            .events()
            .iter()
            .any(|e| e.reason == "TokenRecreated"),
        "step 2: no TokenRecreated event"
    );

    // The same crash, then a delete: the cleanup finds the first token by its name.
    env.cluster.put(&fresh);
    env.finalize::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    assert!(
        live_tokens(&env).is_empty(),
        "step 3: the cleanup left the unrecorded first token alive"
    );
}

#[tokio::test]
async fn a_same_named_policy_someone_else_made_is_left_alone() {
    let env = env().await;
    let stack = ready_stack(&env).await;
    let status = stack.status.unwrap();
    let body = PolicyBody {
        name: Some("team-a-writers".into()),
        display_name: "made by hand".into(),
        scopes: vec!["metrics:read".into()],
        realms: vec![PolicyRealm {
            kind: "stack".into(),
            identifier: status.id.unwrap().to_string(),
            label_policies: Vec::new(),
        }],
        conditions: PolicyConditions::default(),
    };
    env.grafana
        .create_access_policy(&env.token, &status.region_slug.unwrap(), &body)
        .await
        .unwrap();
    env.put::<GrafanaCloudAccessPolicy>("writers", policy_spec(&["metrics:write"]));
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    let status = env
        .get::<GrafanaCloudAccessPolicy>("writers")
        .status
        .unwrap();
    assert_eq!(reason(&status.conditions), "NameConflict");
    let policies = env.sim.control().policies(ORG);
    assert_eq!(policies.len(), 1);
    assert_eq!(
        policies[0].scopes,
        ["metrics:read"],
        "the foreign policy was changed"
    );
    env.finalize::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    assert_eq!(
        env.sim.control().policies(ORG).len(),
        1,
        "the foreign policy was deleted"
    );
}
