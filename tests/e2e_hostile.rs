//! Hostile input and faults end to end (SPEC §5, §7.6): an odd reply from grafana.com or a
//! Secret the API server refuses costs one resource a clear condition, never the operator,
//! never a leaked key; a delete of something that never reached grafana.com never hangs.

#![allow(clippy::unwrap_used)]

mod e2e;
#[path = "e2e_hostile/refused_secret.rs"]
mod refused_secret;
#[path = "e2e_apikey/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;

use e2e::{Env, ORG, has_reason, is_ready, ready_message};
use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use grafana_cloud_simulator::Fault;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use serde_json::json;
use support::{KEYS, key};

/// Step: a 429 asking to wait longer than any clock holds parks that one key, and a key and
/// a stack created afterwards in another namespace still get Ready from the same process.
#[tokio::test]
async fn an_endless_retry_after_parks_one_key_and_the_operator_serves_everyone_else() {
    let env = Env::start().await;
    let hostile = env.namespace("hostile").await;
    let calm = env.other_org_namespace("calm").await;
    // A fractional Retry-After far beyond any clock: it used to panic inside the client.
    env.sim.control().inject(
        Fault::rate_limit_with_header("1e30")
            .on("POST", KEYS)
            .for_org(ORG),
    );
    let hostile_keys: Api<GrafanaCloudApiKey> = env.api(&hostile);
    hostile_keys
        .create(
            &PostParams::default(),
            &key("parked", json!({"role": "Viewer"})),
        )
        .await
        .unwrap();
    // More hostile input beside it: a template that renders megabytes, and a stack whose
    // resync interval overflows every clock.
    hostile_keys
        .create(
            &PostParams::default(),
            &key(
                "bomb",
                json!({"role": "Viewer", "secretTemplate": {"data": {
                    "big": "{% for i in range(90000) %}{{ token }}{% endfor %}"}}}),
            ),
        )
        .await
        .unwrap();
    let hostile_stacks: Api<GrafanaStack> = env.api(&hostile);
    hostile_stacks
        .create(
            &PostParams::default(),
            &e2e::resource(
                "GrafanaStack",
                "forever",
                json!({"slug": "foreverstack", "resyncInterval": "99999999999999999999h"}),
            ),
        )
        .await
        .unwrap();
    let parked = env
        .wait_for(
            &hostile_keys,
            "parked",
            "step 1: the rate-limited key reports RateLimited",
            has_reason("RateLimited"),
        )
        .await;
    env.wait_for(
        &hostile_keys,
        "bomb",
        "step 1: the template bomb is InvalidSpec",
        has_reason("InvalidSpec"),
    )
    .await;
    env.wait_for(
        &hostile_stacks,
        "forever",
        "step 1: the stack with an absurd resync interval still gets Ready",
        is_ready,
    )
    .await;
    assert!(
        ready_message(&parked).contains("429"),
        "{}",
        ready_message(&parked)
    );

    // The controller that handled the 429 must still be serving: new work, after the 429.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calm_keys: Api<GrafanaCloudApiKey> = env.api(&calm);
    calm_keys
        .create(
            &PostParams::default(),
            &key("fine", json!({"role": "Viewer"})),
        )
        .await
        .unwrap();
    let stacks: Api<GrafanaStack> = env.api(&calm);
    stacks
        .create(&PostParams::default(), &support::stack("calm", "calmstack"))
        .await
        .unwrap();
    env.wait_for(
        &calm_keys,
        "fine",
        "step 2: a key in another namespace gets Ready after the 429",
        is_ready,
    )
    .await;
    env.wait_for(
        &stacks,
        "calm",
        "step 2: a stack in another namespace gets Ready after the 429",
        is_ready,
    )
    .await;

    // Once grafana.com answers normally again, the parked key recovers on a change.
    env.sim.control().clear_faults();
    hostile_keys
        .patch(
            "parked",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"annotations": {"poke": "1"}}})),
        )
        .await
        .unwrap();
    env.wait_for(
        &hostile_keys,
        "parked",
        "step 3: the parked key gets Ready once grafana.com stops limiting",
        is_ready,
    )
    .await;
    assert!(
        !env.operator_log().contains("panicked"),
        "the operator panicked"
    );
    env.assert_no_token_leaked().await;
}

/// Step: a stack whose credentials never existed is deleted at once, with no grafana.com
/// call, instead of waiting for credentials that would only be used to find nothing.
#[tokio::test]
async fn deleting_a_stack_that_never_reached_grafana_does_not_hang() {
    let env = Env::start().await;
    let ns = env.namespace("never").await;
    let stacks: Api<GrafanaStack> = env.api(&ns);
    let mut stack: GrafanaStack = e2e::resource(
        "GrafanaStack",
        "orphan",
        json!({"slug": "neverreached", "credentials": {"secretName": "no-such-secret"}}),
    );
    stack.metadata.namespace = None;
    stacks.create(&PostParams::default(), &stack).await.unwrap();
    env.wait_for(
        &stacks,
        "orphan",
        "step 1: CredentialsNotFound, with the finalizer in place",
        |s| {
            has_reason("CredentialsNotFound")(s)
                && s.metadata
                    .finalizers
                    .as_ref()
                    .is_some_and(|f| !f.is_empty())
        },
    )
    .await;
    stacks
        .delete("orphan", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 2: the resource is gone", || async {
        stacks.get_opt("orphan").await.unwrap().is_none()
    })
    .await;
    assert!(
        env.sim.control().requests().is_empty(),
        "step 2: the delete called grafana.com: {:?}",
        env.sim.control().counters()
    );
}

/// Step: a restart whose call grafana.com commits but answers 500 is not repeated, however
/// many passes follow: the value is recorded before the call.
#[tokio::test]
async fn a_restart_is_never_repeated_after_an_unclear_answer() {
    let env = Env::start().await;
    let ns = env.namespace("restart").await;
    let stacks: Api<GrafanaStack> = env.api(&ns);
    stacks
        .create(
            &PostParams::default(),
            &support::stack("main", "restartonce"),
        )
        .await
        .unwrap();
    env.wait_for(&stacks, "main", "step 1: Ready", is_ready)
        .await;
    env.sim.control().inject(
        Fault::error_after(500)
            .on("POST", "/api/instances/{slug}/restart")
            .times(1),
    );
    stacks
        .patch(
            "main",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"annotations": {
                "grafanacloud.operator.dev/restart-requested-at": "2026-12-01T10:00:00Z"}}})),
        )
        .await
        .unwrap();
    env.wait_for(
        &stacks,
        "main",
        "step 2: the restart value is recorded",
        |s| {
            s.status
                .as_ref()
                .and_then(|st| st.last_restart_request.as_deref())
                == Some("2026-12-01T10:00:00Z")
        },
    )
    .await;
    env.eventually("step 2: grafana.com restarted the stack", || {
        env.sim.control().stack("restartonce").unwrap().restarts == 1
    })
    .await;
    // The failed answer makes the pass fail and retry; later passes must not restart again.
    env.wait_for(
        &stacks,
        "main",
        "step 3: Ready again after the retry",
        is_ready,
    )
    .await;
    // A label change starts one more pass: wait until it has run, then count.
    let before = env.passes("restart", "main");
    stacks
        .patch(
            "main",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"labels": {"poke": "1"}}})),
        )
        .await
        .unwrap();
    env.next_pass(
        "step 3: one more pass ran after the label change",
        "restart",
        "main",
        before,
    )
    .await;
    assert_eq!(
        env.sim
            .control()
            .count("POST", "/api/instances/{slug}/restart"),
        1,
        "step 3: the restart was sent again"
    );
}
