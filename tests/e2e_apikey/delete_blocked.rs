//! Deleting keys: a delete that cannot reach grafana.com says why in status and an Event,
//! and switching to `Retain` lets it finish (SPEC §7.3); deleting a namespace deletes its
//! org keys remotely.

use grafana_cloud_operator::crd::GrafanaCloudApiKey;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::{
    e2e::{CREDENTIALS, Env, ORG},
    has_reason, is_ready, key,
};

#[tokio::test]
async fn a_blocked_delete_says_why_and_retain_unblocks_it() {
    let mut env = Env::start().await;
    let ns = env.namespace("team-g").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    api.create(
        &PostParams::default(),
        &key("stuck", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    env.wait_for(&api, "stuck", "Ready", is_ready).await;

    // Without credentials (not even the token a running operator remembers) the key cannot
    // be deleted remotely.
    env.api::<Secret>(&ns)
        .delete(CREDENTIALS, &DeleteParams::default())
        .await
        .unwrap();
    env.kill_operator();
    env.start_operator();
    api.delete("stuck", &DeleteParams::default()).await.unwrap();
    let blocked = env
        .wait_for(&api, "stuck", "Deleting", has_reason("Deleting"))
        .await;
    let message = blocked.status.unwrap().conditions[0].message.clone();
    assert!(message.contains("Retain"), "{message}");
    env.wait_for_event("a Deleting event", &ns, "Deleting", None)
        .await;

    api.patch(
        "stuck",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"deletionPolicy": "Retain"}})),
    )
    .await
    .unwrap();
    env.eventually_async("resource gone", || async {
        api.get_opt("stuck").await.unwrap().is_none()
    })
    .await;
    assert_eq!(
        env.sim.control().org_keys(ORG).len(),
        1,
        "Retain kept the key"
    );
    env.wait_for_event("a Retained event", &ns, "Retained", None)
        .await;
    env.assert_no_token_leaked().await;
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_org_keys_remotely() {
    let env = Env::start().await;
    let ns = env.namespace("doomed-keys").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    for name in ["one", "two"] {
        api.create(
            &PostParams::default(),
            &key(name, json!({"role": "Viewer"})),
        )
        .await
        .unwrap();
        env.wait_for(&api, name, "Ready", is_ready).await;
    }
    assert_eq!(env.sim.control().org_keys(ORG).len(), 2);
    env.delete_namespace(&ns).await;
    assert!(
        env.sim.control().org_keys(ORG).is_empty(),
        "keys left behind"
    );
    env.assert_no_token_leaked().await;
}
