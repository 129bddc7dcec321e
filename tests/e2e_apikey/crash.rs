//! A real crash: the operator is killed after grafana.com committed a create and before the
//! answer (and so the token) reached it. The next run converges without leaking an org key
//! and without losing a token (SPEC §7.2); a lost stack key stays bounded by its lifetime.

use std::time::Duration;

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use grafana_cloud_simulator::Fault;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, api::PostParams};
use serde_json::json;

use super::{
    KEY, KEYS, STACK_KEYS, data,
    e2e::{Env, ORG},
    is_ready, key, live_org_token, stack,
};

#[tokio::test]
async fn killed_between_create_and_secret_write_the_next_run_converges() {
    let mut env = Env::start().await;
    let ns = env.namespace("team-h").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    env.api::<GrafanaStack>(&ns)
        .create(&PostParams::default(), &stack("main", "teamhstack"))
        .await
        .unwrap();
    env.wait_for(&env.api::<GrafanaStack>(&ns), "main", "stack Ready", |s| {
        s.status.as_ref().is_some_and(|st| {
            st.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await;

    // Both creates commit, then hang long enough for the operator to be killed.
    let hang = Duration::from_secs(30);
    env.sim
        .control()
        .inject(Fault::latency_after_action(hang, Duration::ZERO).on("POST", KEYS));
    env.sim
        .control()
        .inject(Fault::latency_after_action(hang, Duration::ZERO).on("POST", STACK_KEYS));
    api.create(
        &PostParams::default(),
        &key("org", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    api.create(
        &PostParams::default(),
        &key(
            "stack",
            json!({"role": "Viewer", "stackRef": "main", "secondsToLive": 3600}),
        ),
    )
    .await
    .unwrap();
    env.eventually("both keys committed at grafana.com", || {
        env.sim.control().org_keys(ORG).len() == 1
            && env.sim.control().stack_keys("teamhstack").len() == 1
    })
    .await;
    env.kill_operator();
    env.sim.control().clear_faults();
    assert!(secrets.get_opt("org").await.unwrap().is_none());
    assert!(secrets.get_opt("stack").await.unwrap().is_none());

    env.start_operator();
    env.wait_for(&api, "org", "Ready after the restart", is_ready)
        .await;
    env.wait_for(&api, "stack", "Ready after the restart", is_ready)
        .await;

    let org_secret = secrets.get("org").await.unwrap();
    assert_eq!(
        data(&org_secret, "token"),
        live_org_token(&env, "team-h-org")
    );
    assert_eq!(
        env.sim.control().org_keys(ORG).len(),
        1,
        "no org key leaked"
    );
    assert_eq!(env.sim.control().count("DELETE", KEY), 1);

    // The lost stack key cannot be revoked: it remains, bounded by its lifetime, and the
    // Secret holds the newer one.
    let stack_keys = env.sim.control().stack_keys("teamhstack");
    assert_eq!(stack_keys.len(), 2);
    assert!(stack_keys.iter().all(|k| k.seconds_to_live == Some(3600)));
    let stack_secret = secrets.get("stack").await.unwrap();
    assert_eq!(
        data(&stack_secret, "token").as_deref(),
        Some(stack_keys[1].token.expose())
    );
    env.assert_no_token_leaked().await;
}
