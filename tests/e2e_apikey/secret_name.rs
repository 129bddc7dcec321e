//! Changing `spec.secretName` moves the token: a new key lands in the new Secret and the
//! old Secret, whose token was revoked, is deleted.

use grafana_cloud_operator::crd::GrafanaCloudApiKey;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::{
    data,
    e2e::{Env, ORG},
    is_ready, key, live_org_token,
};

#[tokio::test]
async fn renaming_the_secret_moves_the_token_and_deletes_the_old_secret() {
    let env = Env::start().await;
    let ns = env.namespace("team-f").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);
    api.create(
        &PostParams::default(),
        &key(
            "deploy",
            json!({"role": "Editor", "secretName": "deploy-v1"}),
        ),
    )
    .await
    .unwrap();
    env.wait_for(&api, "deploy", "Ready", is_ready).await;
    let old = data(&secrets.get("deploy-v1").await.unwrap(), "token");

    api.patch(
        "deploy",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"secretName": "deploy-v2"}})),
    )
    .await
    .unwrap();
    let moved = env
        .wait_for(&secrets, "deploy-v2", "new Secret written", |_| true)
        .await;
    assert_eq!(data(&moved, "token"), live_org_token(&env, "team-f-deploy"));
    assert_ne!(data(&moved, "token"), old, "the old token was replaced");
    env.eventually_async("old Secret deleted", || async {
        secrets.get_opt("deploy-v1").await.unwrap().is_none()
    })
    .await;
    env.wait_for(&api, "deploy", "status names the new Secret", |k| {
        k.status.as_ref().and_then(|s| s.secret_name.as_deref()) == Some("deploy-v2")
    })
    .await;
    assert_eq!(env.sim.control().org_keys(ORG).len(), 1);
    env.wait_for_event("a SecretMoved event", &ns, "SecretMoved", None)
        .await;
    env.assert_no_token_leaked().await;
}
