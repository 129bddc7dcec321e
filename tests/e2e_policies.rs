//! Access policies and their tokens end to end: the real operator binary against a real
//! kube-apiserver and the grafana.com simulator.

#![allow(clippy::unwrap_used)]

mod e2e;
#[path = "e2e_policies/edges.rs"]
mod edges;

use std::time::Duration;

use e2e::{Env, ORG, data, has_reason, is_ready};
use grafana_cloud_operator::crd::{
    GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaStack,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

const POLICY: &str = "/api/v1/accesspolicies/{id}";
const TOKENS: &str = "/api/v1/tokens";

fn stack(name: &str, slug: &str) -> GrafanaStack {
    e2e::resource("GrafanaStack", name, json!({"slug": slug}))
}

fn policy(name: &str, scopes: &[&str]) -> GrafanaCloudAccessPolicy {
    e2e::resource(
        "GrafanaCloudAccessPolicy",
        name,
        json!({"realms": [{"type": "stack", "stackRef": "main"}], "scopes": scopes}),
    )
}

fn token(name: &str, spec: serde_json::Value) -> GrafanaCloudAccessPolicyToken {
    e2e::resource("GrafanaCloudAccessPolicyToken", name, spec)
}

fn live_tokens(env: &Env) -> Vec<String> {
    env.sim
        .control()
        .policy_tokens(ORG)
        .into_iter()
        .filter(|t| !t.expired)
        .map(|t| t.token.expose().to_string())
        .collect()
}

/// A Ready stack `main` and a Ready policy `writers` on it, in a new namespace.
async fn stack_and_policy(env: &Env, ns: &str) -> Api<GrafanaCloudAccessPolicy> {
    let stacks: Api<GrafanaStack> = env.api(ns);
    stacks
        .create(
            &PostParams::default(),
            &stack("main", &format!("{ns}main").replace('-', "")),
        )
        .await
        .unwrap();
    env.wait_for(&stacks, "main", "step 1: the stack is Ready", is_ready)
        .await;
    let policies: Api<GrafanaCloudAccessPolicy> = env.api(ns);
    policies
        .create(
            &PostParams::default(),
            &policy("writers", &["metrics:write", "logs:write"]),
        )
        .await
        .unwrap();
    env.wait_for(
        &policies,
        "writers",
        "step 1: the policy is Ready",
        is_ready,
    )
    .await;
    policies
}

/// Create, steady state, update in place, delete with Delete.
#[tokio::test]
async fn a_policy_and_its_token_give_a_remote_write_config_and_go_away_with_delete() {
    let env = Env::start().await;
    let ns = env.namespace("team-a").await;
    let policies = stack_and_policy(&env, &ns).await;
    let tokens: Api<GrafanaCloudAccessPolicyToken> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    let template = "url: {{ stack.endpoints.prometheus.url }}/api/prom/push\nusername: \"{{ stack.endpoints.prometheus.userId }}\"\npassword: \"{{ token }}\"\n";
    tokens
        .create(
            &PostParams::default(),
            &token(
                "push",
                json!({"policyRef": "writers",
                       "secretTemplate": {"stackRef": "main", "data": {"remote-write.yaml": template}}}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(&tokens, "push", "step 2: the token is Ready", is_ready)
        .await;
    let secret = secrets.get("push").await.unwrap();
    let live = live_tokens(&env);
    assert_eq!(live.len(), 1, "step 2: exactly one token");
    assert_eq!(data(&secret, "token").as_deref(), Some(live[0].as_str()));
    assert!(
        data(&secret, "prometheusRemoteWriteUrl").is_some_and(|u| u.ends_with("/api/prom/push")),
        "step 2: the remote-write URL is in the Secret"
    );
    assert!(
        data(&secret, "otlpUrl").is_some(),
        "step 2: the OTLP endpoint is in the Secret"
    );
    assert!(
        data(&secret, "remote-write.yaml").is_some_and(|c| c.contains(&live[0])),
        "step 2: the template rendered the token"
    );

    // Steady state: a pass of each makes no grafana.com write and no Secret write.
    let writes = || {
        env.sim
            .control()
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    };
    let (before, policy_passes, token_passes) = (
        writes(),
        env.passes(&ns, "writers"),
        env.passes(&ns, "push"),
    );
    let poke = json!({"metadata": {"labels": {"poke": "1"}}});
    for (api_name, name) in [("policy", "writers"), ("token", "push")] {
        let patch = Patch::Merge(poke.clone());
        match api_name {
            "policy" => drop(
                policies
                    .patch(name, &PatchParams::default(), &patch)
                    .await
                    .unwrap(),
            ),
            _ => drop(
                tokens
                    .patch(name, &PatchParams::default(), &patch)
                    .await
                    .unwrap(),
            ),
        }
    }
    env.next_pass(
        "step 3: a pass of the policy",
        &ns,
        "writers",
        policy_passes,
    )
    .await;
    env.next_pass("step 3: a pass of the token", &ns, "push", token_passes)
        .await;
    assert_eq!(
        writes(),
        before,
        "step 3: steady state wrote to grafana.com"
    );
    let unchanged = secrets.get("push").await.unwrap();
    assert_eq!(
        unchanged.metadata.resource_version, secret.metadata.resource_version,
        "step 3: steady state rewrote the Secret"
    );

    // Update in place.
    policies
        .patch(
            "writers",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"scopes": ["metrics:write", "logs:write", "traces:write"]}}),
            ),
        )
        .await
        .unwrap();
    env.eventually("step 4: the new scope reaches grafana.com in place", || {
        let policies = env.sim.control().policies(ORG);
        policies.len() == 1 && policies[0].scopes.contains(&"traces:write".to_string())
    })
    .await;
    assert_eq!(
        env.sim.control().count("POST", POLICY),
        1,
        "step 4: one update"
    );

    // Delete the policy first: it waits for its token's resource, and says so.
    policies
        .delete("writers", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_for(
        &policies,
        "writers",
        "step 5: the policy's delete waits for its token",
        has_reason("Deleting"),
    )
    .await;
    assert_eq!(
        env.sim.control().policies(ORG).len(),
        1,
        "step 5: the policy was deleted under a live token"
    );
    tokens
        .delete("push", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 5: both resources are gone", || async {
        tokens.get_opt("push").await.unwrap().is_none()
            && policies.get_opt("writers").await.unwrap().is_none()
    })
    .await;
    assert!(
        live_tokens(&env).is_empty(),
        "step 5: Delete removes the token"
    );
    assert!(
        env.sim.control().policies(ORG).is_empty(),
        "step 5: Delete removes the policy\noperator log tail:\n{}",
        e2e::tail(&env.operator_log(), 30)
    );
    env.assert_no_token_leaked().await;
}

/// Rotation with an overlap: the Secret switches, the old token lives through its grace
/// period and is then deleted, and the Secret never holds a dead token.
#[tokio::test]
async fn rotation_switches_the_secret_before_the_old_token_dies() {
    let env = Env::start().await;
    let ns = env.namespace("rotate").await;
    stack_and_policy(&env, &ns).await;
    let tokens: Api<GrafanaCloudAccessPolicyToken> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    tokens
        .create(
            &PostParams::default(),
            &token(
                "short",
                json!({"policyRef": "writers", "expiresAfter": "1m",
                       "rotation": {"renewBefore": "30s", "keepPrevious": "5s"}}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(&tokens, "short", "step 2: the token is Ready", is_ready)
        .await;
    let first = data(&secrets.get("short").await.unwrap(), "token").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(75);
    let mut second = None;
    while tokio::time::Instant::now() < deadline {
        let held = data(&secrets.get("short").await.unwrap(), "token").unwrap();
        assert!(
            live_tokens(&env).contains(&held),
            "step 3: the Secret held a token that no longer works"
        );
        if held != first {
            second = Some(held);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let second = second.expect("step 3: the Secret switched to a new token within 75s");
    assert!(
        live_tokens(&env).contains(&first),
        "step 3: the old token works during its overlap"
    );
    env.eventually("step 4: the old token is deleted after its overlap", || {
        live_tokens(&env) == [second.clone()]
    })
    .await;
    env.assert_no_token_leaked().await;
}
