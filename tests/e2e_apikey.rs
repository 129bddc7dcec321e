//! GrafanaCloudApiKey end to end: the real operator binary against a real kube-apiserver
//! and the grafana.com simulator (SPEC §4, §5, §7).

#![allow(clippy::unwrap_used)]

#[path = "e2e_apikey/bad_input.rs"]
mod bad_input;
#[path = "e2e_apikey/crash.rs"]
mod crash;
#[path = "e2e_apikey/delete_blocked.rs"]
mod delete_blocked;
mod e2e;
#[path = "e2e_apikey/expiry.rs"]
mod expiry;
#[path = "e2e_apikey/key_conflict.rs"]
mod key_conflict;
#[path = "e2e_apikey/secret_name.rs"]
mod secret_name;
#[path = "e2e_apikey/steady_state.rs"]
mod steady_state;
#[path = "e2e_apikey/support.rs"]
mod support;

use std::time::Duration;

use e2e::{Env, ORG, has_reason, is_ready};
use grafana_cloud_operator::crd::{
    GrafanaCloudApiKey, GrafanaStack, MANAGED_BY_LABEL, MANAGED_BY_VALUE,
};
use grafana_cloud_simulator::Fault;
use k8s_openapi::{
    ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;
use support::{KEY, KEYS, STACK_KEYS, data, key, live_org_token, stack};

/// Org key: created, its token in an owned Secret; steady state makes no create call; the
/// Secret deleted → a new key replaces the old one; Delete removes the remote key.
#[tokio::test]
async fn org_key_lifecycle() {
    let env = Env::start().await;
    let ns = env.namespace("team-a").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    api.create(
        &PostParams::default(),
        &key("metrics", json!({"role": "MetricsPublisher"})),
    )
    .await
    .unwrap();

    let obj = env
        .wait_for(&api, "metrics", "step 1: the org key is Ready", is_ready)
        .await;
    let status = obj.status.clone().unwrap();
    assert_eq!(status.key_type.as_deref(), Some("org"));
    assert_eq!(status.key_name.as_deref(), Some("team-a-metrics"));
    assert_eq!(status.secret_name.as_deref(), Some("metrics"));
    assert_eq!(status.org_slug.as_deref(), Some(ORG));
    let secret = secrets.get("metrics").await.unwrap();
    let first = data(&secret, "token").unwrap();
    assert_eq!(Some(first.clone()), live_org_token(&env, "team-a-metrics"));
    assert_eq!(data(&secret, "orgSlug").as_deref(), Some(ORG));
    assert_eq!(
        secret.metadata.labels.as_ref().unwrap()[MANAGED_BY_LABEL],
        MANAGED_BY_VALUE
    );
    let owner = &secret.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(Some(&owner.uid), obj.metadata.uid.as_ref());
    assert_eq!(owner.controller, Some(true));
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        1,
        "step 1: one create"
    );

    // More reconciles (a label change) make no create call.
    let before = env.passes(&ns, "metrics");
    api.patch(
        "metrics",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    env.next_pass(
        "step 2: a pass after a label change",
        &ns,
        "metrics",
        before,
    )
    .await;
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        1,
        "step 2: steady state created a key"
    );
    let unchanged = secrets.get("metrics").await.unwrap();
    assert_eq!(
        unchanged.metadata.resource_version, secret.metadata.resource_version,
        "step 2: steady state rewrote the Secret"
    );

    // The Secret is deleted: the key is replaced, exactly one stays live.
    secrets
        .delete("metrics", &DeleteParams::default())
        .await
        .unwrap();
    let recreated = env
        .wait_for(
            &secrets,
            "metrics",
            "step 3: a deleted Secret is written again",
            |s| data(s, "token").is_some_and(|t| t != first),
        )
        .await;
    let second = data(&recreated, "token").unwrap();
    assert_eq!(
        Some(second),
        live_org_token(&env, "team-a-metrics"),
        "step 3: the Secret holds the live key's token"
    );
    assert_eq!(
        env.sim.control().org_keys(ORG).len(),
        1,
        "step 3: exactly one key stays live"
    );
    env.wait_for_event("step 3: a KeyRecreated event", &ns, "KeyRecreated", None)
        .await;

    api.delete("metrics", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 4: Delete removes the resource", || async {
        api.get_opt("metrics").await.unwrap().is_none()
    })
    .await;
    assert!(
        env.sim.control().org_keys(ORG).is_empty(),
        "step 4: Delete removes the remote key"
    );
    env.assert_no_token_leaked().await;
}

/// A 5xx after grafana.com committed the create: the token never reached a Secret, so the
/// next reconcile deletes that key and creates one whose token it stores.
#[tokio::test]
async fn crash_between_create_and_secret_write_leaves_one_key_with_its_token() {
    let env = Env::start().await;
    let ns = env.namespace("team-b").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    env.sim
        .control()
        .inject(Fault::error_after(502).on("POST", KEYS).times(1));
    api.create(
        &PostParams::default(),
        &key("ci", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    env.wait_for(&api, "ci", "Ready after the lost create", is_ready)
        .await;
    let secret = env.api::<Secret>(&ns).get("ci").await.unwrap();
    assert_eq!(
        data(&secret, "token"),
        live_org_token(&env, "team-b-ci"),
        "the Secret holds the live key's token"
    );
    assert_eq!(env.sim.control().org_keys(ORG).len(), 1);
    assert_eq!(env.sim.control().count("POST", KEYS), 2);
    assert_eq!(env.sim.control().count("DELETE", KEY), 1);
    env.assert_no_token_leaked().await;
}

/// A Secret of the target name that this resource does not own: SecretConflict, no
/// grafana.com call, the Secret untouched. Retain keeps a key when the resource goes.
#[tokio::test]
async fn foreign_secret_conflicts_and_retain_keeps_the_key() {
    let env = Env::start().await;
    let ns = env.namespace("team-c").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    let foreign = Secret {
        metadata: ObjectMeta {
            name: Some("taken".into()),
            ..ObjectMeta::default()
        },
        data: Some([("token".to_string(), ByteString(b"mine".to_vec()))].into()),
        ..Secret::default()
    };
    secrets
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    api.create(
        &PostParams::default(),
        &key("taken", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    env.wait_for(
        &api,
        "taken",
        "SecretConflict",
        has_reason("SecretConflict"),
    )
    .await;
    env.eventually_async("one SecretConflict warning event", || async {
        env.events_with_reason(&ns, "SecretConflict").await.len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        env.sim.control().requests().is_empty(),
        "no grafana.com call"
    );
    let after = secrets.get("taken").await.unwrap();
    assert_eq!(data(&after, "token").as_deref(), Some("mine"));
    assert!(after.metadata.owner_references.is_none());
    api.delete("taken", &DeleteParams::default()).await.unwrap();
    env.eventually_async("conflicting resource gone", || async {
        api.get_opt("taken").await.unwrap().is_none()
    })
    .await;
    assert!(
        env.sim.control().requests().is_empty(),
        "delete made no call either"
    );

    api.create(
        &PostParams::default(),
        &key(
            "kept",
            json!({"role": "Editor", "deletionPolicy": "Retain"}),
        ),
    )
    .await
    .unwrap();
    env.wait_for(&api, "kept", "Ready", is_ready).await;
    api.delete("kept", &DeleteParams::default()).await.unwrap();
    env.eventually_async("resource gone", || async {
        api.get_opt("kept").await.unwrap().is_none()
    })
    .await;
    assert!(
        live_org_token(&env, "team-c-kept").is_some(),
        "Retain keeps the key"
    );
    assert_eq!(env.sim.control().count("DELETE", KEY), 0);
    env.assert_no_token_leaked().await;
}

/// A stack key waits for its stack, then lands in the Secret with the stack's slug and URL;
/// it rotates at renewAt on its own (the resync interval is much longer); an org key renders
/// a remote-write config from the same stack's endpoints.
#[tokio::test]
async fn stack_key_waits_rotates_and_templates_render() {
    let env = Env::start_with(e2e::Options {
        resync_interval: "10m",
        ..e2e::Options::default()
    })
    .await;
    let ns = env.namespace("team-d").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    api.create(
        &PostParams::default(),
        &key(
            "grafana",
            json!({"role": "Admin", "stackRef": "main", "secondsToLive": 60,
                   "rotation": {"renewBefore": "30s"}}),
        ),
    )
    .await
    .unwrap();
    api.create(
        &PostParams::default(),
        &key(
            "remote-write",
            json!({"role": "MetricsPublisher", "secretTemplate": {
                "stackRef": "main",
                "data": {"remote-write.yaml":
                    "url: {{ stack.endpoints.prometheus.url }}/api/prom/push\nusername: \"{{ stack.endpoints.prometheus.userId }}\"\npassword: \"{{ token }}\"\n"}
            }}),
        ),
    )
    .await
    .unwrap();
    env.wait_for(
        &api,
        "grafana",
        "StackNotReady",
        has_reason("StackNotReady"),
    )
    .await;
    env.wait_for(
        &api,
        "remote-write",
        "StackNotReady",
        has_reason("StackNotReady"),
    )
    .await;
    assert_eq!(env.sim.control().count("POST", STACK_KEYS), 0);
    assert_eq!(env.sim.control().count("POST", KEYS), 0);

    env.api::<GrafanaStack>(&ns)
        .create(&PostParams::default(), &stack("main", "teamdstack"))
        .await
        .unwrap();
    // The GrafanaStack watch wakes the key up; its own slow requeue (60 s) is not needed.
    let obj = env
        .wait_for_timeout(
            &api,
            "grafana",
            "Ready soon after the stack",
            Duration::from_secs(20),
            is_ready,
        )
        .await;
    let status = obj.status.unwrap();
    assert_eq!(status.key_type.as_deref(), Some("stack"));
    assert_eq!(status.stack_slug.as_deref(), Some("teamdstack"));
    let first_name = status.key_name.clone().unwrap();
    assert!(first_name.starts_with("team-d-grafana-"));
    assert!(status.expires_at.is_some() && status.renew_at.is_some());
    let secret = secrets.get("grafana").await.unwrap();
    let keys = env.sim.control().stack_keys("teamdstack");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].seconds_to_live, Some(60));
    assert_eq!(
        data(&secret, "token").as_deref(),
        Some(keys[0].token.expose())
    );
    assert_eq!(data(&secret, "stackSlug").as_deref(), Some("teamdstack"));
    let remote = env.sim.control().stack("teamdstack").unwrap();
    assert_eq!(data(&secret, "url"), Some(remote.url.clone()));

    // The remote-write Secret carries the stack's endpoint and the org key's token.
    env.wait_for(&api, "remote-write", "Ready", is_ready).await;
    let rw = secrets.get("remote-write").await.unwrap();
    let stack_status = env
        .api::<GrafanaStack>(&ns)
        .get("main")
        .await
        .unwrap()
        .status
        .unwrap();
    let prometheus = stack_status.endpoints.unwrap().prometheus.unwrap();
    assert_eq!(
        data(&rw, "remote-write.yaml").unwrap(),
        format!(
            "url: {}/api/prom/push\nusername: \"{}\"\npassword: \"{}\"\n",
            prometheus.url,
            prometheus.user_id.unwrap(),
            live_org_token(&env, "team-d-remote-write").unwrap()
        )
    );

    // Rotation: about 30 s after creation, with no resync in sight.
    let rotated = env
        .wait_for_timeout(&api, "grafana", "rotated", Duration::from_secs(60), |k| {
            k.status
                .as_ref()
                .and_then(|s| s.key_name.as_deref())
                .is_some_and(|n| n != first_name)
        })
        .await;
    assert!(rotated.status.unwrap().renew_at.is_some());
    // The Secret switched to a newer, live key; the old one stays valid until it expires.
    let secret = secrets.get("grafana").await.unwrap();
    let keys = env.sim.control().stack_keys("teamdstack");
    assert!(keys.len() >= 2);
    let current = keys
        .iter()
        .find(|k| data(&secret, "token").as_deref() == Some(k.token.expose()))
        .expect("the Secret holds a key the simulator issued");
    assert_ne!(current.name, first_name);
    assert!(!current.expired);
    env.wait_for_event("Rotated event", &ns, "Rotated", None)
        .await;

    // Stack keys cannot be revoked: delete only removes the finalizer.
    api.delete("grafana", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("stack key resource gone", || async {
        api.get_opt("grafana").await.unwrap().is_none()
    })
    .await;
    env.assert_no_token_leaked().await;
}
