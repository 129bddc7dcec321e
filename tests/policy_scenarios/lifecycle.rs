//! Rotation, replacement of a token grafana.com lost, and delete with Delete and Retain.

use std::time::Duration;

use grafana_cloud_operator::crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken};
use serde_json::json;

use super::{
    env,
    in_process::{NS, ORG, reason},
    live_tokens, policy_spec, pushing, token_status,
};

#[tokio::test]
async fn rotation_switches_the_secret_keeps_the_old_token_through_its_overlap_then_deletes_it() {
    let env = env().await;
    pushing(
        &env,
        json!({"policyRef": "writers", "expiresAfter": "1h",
               "rotation": {"renewBefore": "10m", "keepPrevious": "2s"}}),
    )
    .await;
    let first = env.secret_text("push", "token").unwrap();
    // 55 minutes on: the token is due for renewal.
    env.age_token(
        "push",
        Duration::from_secs(55 * 60),
        Duration::from_secs(5 * 60),
    );
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    let second = env.secret_text("push", "token").unwrap();
    assert_ne!(second, first, "the Secret switched to the new token");
    let live = live_tokens(&env);
    assert!(
        live.contains(&first) && live.contains(&second),
        "both live during the overlap"
    );
    let status = token_status(&env);
    assert!(status.previous.is_some(), "the previous token is recorded");
    assert!(env.cluster.events().iter().any(|e| e.reason == "Rotated"));

    tokio::time::sleep(Duration::from_millis(2_200)).await;
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    assert_eq!(
        live_tokens(&env),
        [second],
        "the previous token is deleted after its overlap"
    );
    assert!(token_status(&env).previous.is_none());
}

#[tokio::test]
async fn a_deleted_remote_token_is_replaced_and_delete_honours_the_policy() {
    let env = env().await;
    pushing(&env, json!({"policyRef": "writers"})).await;
    let first = env.sim.control().policy_tokens(ORG)[0].clone();
    let region = first.region.clone();
    env.grafana
        .delete_policy_token(&env.token, &region, &first.id, &first.name)
        .await
        .unwrap();
    // Past the resync interval the shared list no longer shows it.
    env.ctx.org_tokens.invalidate(&format!("{ORG}/{region}"));
    env.age_token("push", Duration::from_secs(600), Duration::from_secs(3600));
    env.apply::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    let live = live_tokens(&env);
    assert_eq!(live.len(), 1);
    assert_eq!(env.secret_text("push", "token").unwrap(), live[0]);

    // The policy waits for its token's resource before it goes: an error, which keeps the
    // finalizer.
    let waiting = env.finalize::<GrafanaCloudAccessPolicy>("writers").await;
    assert!(
        waiting.is_err(),
        "the cleanup let the finalizer go under a live token"
    );
    assert_eq!(
        env.sim.control().policies(ORG).len(),
        1,
        "deleted under a live token"
    );
    let status = env
        .get::<GrafanaCloudAccessPolicy>("writers")
        .status
        .unwrap();
    assert_eq!(reason(&status.conditions), "Deleting");
    env.finalize::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    assert!(live_tokens(&env).is_empty(), "Delete removes the token");
    env.cluster
        .remove::<GrafanaCloudAccessPolicyToken>(Some(NS), "push");
    env.finalize::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    assert!(
        env.sim.control().policies(ORG).is_empty(),
        "Delete removes the policy"
    );
}

#[tokio::test]
async fn retain_leaves_the_policy_and_its_token() {
    let env = env().await;
    pushing(
        &env,
        json!({"policyRef": "writers", "deletionPolicy": "Retain"}),
    )
    .await;
    let mut spec = policy_spec(&["metrics:write", "logs:write"]);
    spec["deletionPolicy"] = json!("Retain");
    env.put::<GrafanaCloudAccessPolicy>("writers", spec);
    env.apply::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    env.finalize::<GrafanaCloudAccessPolicyToken>("push")
        .await
        .unwrap();
    env.cluster
        .remove::<GrafanaCloudAccessPolicyToken>(Some(NS), "push");
    env.finalize::<GrafanaCloudAccessPolicy>("writers")
        .await
        .unwrap();
    assert_eq!(env.sim.control().policies(ORG).len(), 1);
    assert_eq!(live_tokens(&env).len(), 1);
}
