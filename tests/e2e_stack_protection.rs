//! Delete protection and connections of a stack end to end, with the real operator binary
//! against a real kube-apiserver and the simulator: protection goes on only once the stack
//! is Ready and is set back when changed by hand; the connections reach status and a
//! token's Secret template; `Delete` still removes a protected stack and `Retain` leaves it
//! protected.

#![allow(clippy::unwrap_used)]

mod e2e;

use std::time::Duration;

use e2e::{Env, Options, data, has_reason, is_ready};
use grafana_cloud_operator::crd::{
    DeletionPolicy, GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaStack,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use serde_json::json;

fn protected(env: &Env, slug: &str) -> bool {
    env.sim.control().stack(slug).unwrap().delete_protection
}

async fn protect_by_hand(env: &Env, slug: &str, on: bool) {
    let body = json!({"deleteProtection": on});
    env.by_hand(
        "set protection by hand",
        &format!("/instances/{slug}"),
        body,
    )
    .await;
}

#[tokio::test]
async fn protection_goes_on_after_ready_and_delete_still_removes_the_stack() {
    let env = Env::start_with(Options {
        readiness_delay: Duration::from_secs(3),
        resync_interval: "2s",
        ..Options::default()
    })
    .await;
    let ns = env.namespace("guarded").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    let slug = "guardedmain";
    let stack: GrafanaStack = e2e::resource("GrafanaStack", "main", json!({"slug": slug}));
    assert!(stack.spec.delete_protection, "protection is the default");
    api.create(&PostParams::default(), &stack).await.unwrap();
    env.wait_for(
        &api,
        "main",
        "step 1: provisioning",
        has_reason("StackProvisioning"),
    )
    .await;
    assert!(
        !protected(&env, slug),
        "step 1: no protection while provisioning"
    );

    let ready = env.wait_for(&api, "main", "step 2: Ready", is_ready).await;
    let status = ready.status.unwrap();
    assert!(
        protected(&env, slug),
        "step 2: protection is on after Ready"
    );
    assert_eq!(
        status.delete_protection,
        Some(true),
        "step 2: status says so"
    );
    let otlp = status
        .connections
        .and_then(|c| c.otlp_http_url)
        .expect("step 2: the OTLP endpoint is in status");
    assert!(otlp.starts_with("https://otlp-gateway-"), "step 2: {otlp}");

    // A token's template renders the stack's connections.
    let policies: Api<GrafanaCloudAccessPolicy> = env.api(&ns);
    let policy: GrafanaCloudAccessPolicy = e2e::resource(
        "GrafanaCloudAccessPolicy",
        "otel",
        json!({"realms": [{"type": "stack", "stackRef": "main"}], "scopes": ["metrics:write", "traces:write"]}),
    );
    policies
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    env.wait_for(&policies, "otel", "step 3: the policy is Ready", is_ready)
        .await;
    let tokens: Api<GrafanaCloudAccessPolicyToken> = env.api(&ns);
    let template = "OTEL_EXPORTER_OTLP_ENDPOINT={{ stack.connections.otlpHttpUrl }}\nINFLUX_URL={{ stack.connections.influxUrl }}\n";
    let token: GrafanaCloudAccessPolicyToken = e2e::resource(
        "GrafanaCloudAccessPolicyToken",
        "collector",
        json!({"policyRef": "otel", "secretTemplate": {"stackRef": "main", "data": {"otel.env": template}}}),
    );
    tokens.create(&PostParams::default(), &token).await.unwrap();
    env.wait_for(&tokens, "collector", "step 3: the token is Ready", is_ready)
        .await;
    let secrets: Api<Secret> = env.api(&ns);
    let rendered = data(&secrets.get("collector").await.unwrap(), "otel.env").unwrap();
    assert!(
        rendered.contains(&format!("OTEL_EXPORTER_OTLP_ENDPOINT={otlp}\n")),
        "step 3: the template renders the OTLP endpoint: {rendered}"
    );
    assert!(
        rendered.contains("INFLUX_URL=https://influx-"),
        "step 3: {rendered}"
    );

    // Turned off by hand: set back like any drift.
    protect_by_hand(&env, slug, false).await;
    env.eventually("step 4: protection is set back", || protected(&env, slug))
        .await;

    // Delete still deletes: the operator lifts protection first.
    tokens
        .delete("collector", &DeleteParams::default())
        .await
        .unwrap();
    policies
        .delete("otel", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 5: the policy is gone", || async {
        policies.get_opt("otel").await.unwrap().is_none()
    })
    .await;
    api.delete("main", &DeleteParams::default()).await.unwrap();
    env.eventually_async("step 5: the resource is gone", || async {
        api.get_opt("main").await.unwrap().is_none()
    })
    .await;
    assert!(
        env.stack_deleted_remotely(slug),
        "step 5: the stack is deleted"
    );
    env.wait_for_event(
        "step 5: an event says protection was lifted",
        &ns,
        "ProtectionLifted",
        None,
    )
    .await;
    env.assert_no_token_leaked().await;
}

#[tokio::test]
async fn retain_leaves_the_stack_and_its_protection_and_false_keeps_it_off() {
    let env = Env::start_with(Options {
        resync_interval: "2s",
        ..Options::default()
    })
    .await;
    let ns = env.namespace("kept").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    let kept: GrafanaStack = e2e::resource(
        "GrafanaStack",
        "kept",
        json!({"slug": "keptmain", "deletionPolicy": "Retain"}),
    );
    assert_eq!(kept.spec.deletion_policy, DeletionPolicy::Retain);
    let open: GrafanaStack = e2e::resource(
        "GrafanaStack",
        "open",
        json!({"slug": "keptopen", "deleteProtection": false}),
    );
    api.create(&PostParams::default(), &kept).await.unwrap();
    api.create(&PostParams::default(), &open).await.unwrap();
    env.wait_for(&api, "kept", "step 1: Ready", is_ready).await;
    env.wait_for(&api, "open", "step 1: Ready", is_ready).await;
    assert!(protected(&env, "keptmain"), "step 1: protected");
    assert!(
        !protected(&env, "keptopen"),
        "step 1: deleteProtection false"
    );

    // Turned on by hand where the spec says false: set back off.
    protect_by_hand(&env, "keptopen", true).await;
    env.eventually("step 2: protection is turned off again", || {
        !protected(&env, "keptopen")
    })
    .await;

    api.delete("kept", &DeleteParams::default()).await.unwrap();
    env.eventually_async("step 3: the resource is gone", || async {
        api.get_opt("kept").await.unwrap().is_none()
    })
    .await;
    let left = env.sim.control().stack("keptmain").unwrap();
    assert_eq!(left.status, "active", "step 3: Retain leaves the stack");
    assert!(left.delete_protection, "step 3: and its protection");
    env.assert_no_token_leaked().await;
}
