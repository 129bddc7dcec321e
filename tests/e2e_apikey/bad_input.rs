//! Bad input never causes a burst of grafana.com calls (SPEC §5, §7.4): it waits, says why,
//! and recovers as soon as the user fixes it.

use std::time::Duration;

use grafana_cloud_operator::crd::GrafanaCloudApiKey;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::{
    KEYS, data, e2e::Env, e2e::ORG, e2e::ORG_TOKEN, e2e::ready_message, has_reason, is_ready, key,
    live_org_token,
};

#[tokio::test]
async fn bad_templates_and_credentials_wait_without_calls_and_recover() {
    let env = Env::start().await;
    let ns = env.namespace("team-e").await;
    let api: Api<GrafanaCloudApiKey> = env.api(&ns);
    env.credentials_secret(&ns, "orgless", ORG_TOKEN, "").await;

    // A template using the stack without any stack to use.
    api.create(
        &PostParams::default(),
        &key(
            "templated",
            json!({"role": "Viewer", "secretTemplate": {"data": {"config": "url: {{ stack.url }}"}}}),
        ),
    )
    .await
    .unwrap();
    // Org keys need the org slug beside the token.
    api.create(
        &PostParams::default(),
        &key(
            "no-org",
            json!({"role": "Viewer", "credentials": {"secretName": "orgless"}}),
        ),
    )
    .await
    .unwrap();
    // The credentials Secret does not exist yet.
    api.create(
        &PostParams::default(),
        &key(
            "later",
            json!({"role": "Viewer", "credentials": {"secretName": "later-creds"}}),
        ),
    )
    .await
    .unwrap();

    let templated = env
        .wait_for(&api, "templated", "InvalidSpec", has_reason("InvalidSpec"))
        .await;
    assert!(
        ready_message(&templated).contains("data.config"),
        "{}",
        ready_message(&templated)
    );
    let no_org = env
        .wait_for(&api, "no-org", "InvalidSpec", has_reason("InvalidSpec"))
        .await;
    assert!(
        ready_message(&no_org).contains("orgSlug"),
        "{}",
        ready_message(&no_org)
    );
    env.wait_for(
        &api,
        "later",
        "CredentialsNotFound",
        has_reason("CredentialsNotFound"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        env.sim.control().requests().is_empty(),
        "bad input made grafana.com calls: {:?}",
        env.sim.control().counters()
    );

    // Fixes take effect without waiting for a resync.
    api.patch(
        "templated",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"secretTemplate": {"data": {"config": "org: {{ orgSlug }}"}}}}),
        ),
    )
    .await
    .unwrap();
    env.wait_for(&api, "templated", "Ready after the fix", is_ready)
        .await;
    let secret = env.api::<Secret>(&ns).get("templated").await.unwrap();
    assert_eq!(data(&secret, "config"), Some(format!("org: {ORG}")));
    assert_eq!(
        data(&secret, "token"),
        live_org_token(&env, "team-e-templated")
    );

    env.credentials_secret(&ns, "later-creds", ORG_TOKEN, ORG)
        .await;
    env.wait_for(&api, "later", "Ready once the credentials exist", is_ready)
        .await;
    assert_eq!(env.sim.control().count("POST", KEYS), 2);
    env.assert_no_token_leaked().await;
}
