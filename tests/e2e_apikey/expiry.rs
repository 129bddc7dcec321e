//! A stack key with a lifetime but no rotation is replaced when it expires, at its expiry
//! time rather than at the next resync.

use std::time::Duration;

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, api::PostParams};
use serde_json::json;

use super::{data, e2e::Env, is_ready, key, stack};

#[tokio::test]
async fn an_expired_stack_key_without_rotation_is_replaced_at_expiry() {
    let env = Env::start_with(super::e2e::Options {
        resync_interval: "10m",
        ..super::e2e::Options::default()
    })
    .await;
    let ns = env.namespace("team-x").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    env.api::<GrafanaStack>(&ns)
        .create(&PostParams::default(), &stack("main", "teamxstack"))
        .await
        .unwrap();
    api.create(
        &PostParams::default(),
        &key(
            "short",
            json!({"role": "Viewer", "stackRef": "main", "secondsToLive": 60}),
        ),
    )
    .await
    .unwrap();
    let first = env.wait_for(&api, "short", "Ready", is_ready).await;
    let first = first.status.unwrap();
    assert!(first.expires_at.is_some());
    assert_eq!(
        first.renew_at, None,
        "renewAt is only reported with rotation"
    );

    let replaced = env
        .wait_for_timeout(
            &api,
            "short",
            "replaced at expiry, 60 s after its creation",
            Duration::from_secs(90),
            |k| k.status.as_ref().and_then(|s| s.key_name.clone()) != first.key_name,
        )
        .await;
    let secret = env.api::<Secret>(&ns).get("short").await.unwrap();
    let keys = env.sim.control().stack_keys("teamxstack");
    let current = keys
        .iter()
        .find(|k| Some(&k.name) == replaced.status.as_ref().unwrap().key_name.as_ref())
        .unwrap();
    assert_eq!(
        data(&secret, "token").as_deref(),
        Some(current.token.expose())
    );
    env.assert_no_token_leaked().await;
}
