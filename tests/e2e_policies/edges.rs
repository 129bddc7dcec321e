//! The edges of access policies and tokens: lost create answers, foreign Secrets and
//! same-named policies, Retain, and namespace deletion.

use grafana_cloud_operator::{
    crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaStack},
    grafana::{ClientOptions, GrafanaClient, PolicyBody, PolicyConditions, PolicyRealm, Token},
};
use grafana_cloud_simulator::Fault;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, PostParams},
};
use serde_json::json;

use super::{
    TOKENS,
    e2e::{Env, ORG, ORG_TOKEN, data, has_reason, is_ready},
    live_tokens, policy, stack, stack_and_policy, token,
};

/// A lost create answer, a foreign Secret, Retain, and namespace deletion.
#[tokio::test]
async fn crashes_foreign_secrets_retain_and_namespace_deletion() {
    let env = Env::start().await;
    let ns = env.namespace("edges").await;
    stack_and_policy(&env, &ns).await;
    let tokens: Api<GrafanaCloudAccessPolicyToken> = env.api(&ns);
    let secrets: Api<Secret> = env.api(&ns);

    // The create commits but its answer is lost: one live token, and it is in the Secret.
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", TOKENS).times(1));
    tokens
        .create(
            &PostParams::default(),
            &token("lossy", json!({"policyRef": "writers"})),
        )
        .await
        .unwrap();
    env.wait_for(
        &tokens,
        "lossy",
        "step 2: Ready after the lost answer",
        is_ready,
    )
    .await;
    let held = data(&secrets.get("lossy").await.unwrap(), "token").unwrap();
    assert_eq!(
        live_tokens(&env),
        [held],
        "step 2: exactly one live token, in the Secret"
    );

    // A Secret that is not ours is never touched.
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
    tokens
        .create(
            &PostParams::default(),
            &token(
                "taker",
                json!({"policyRef": "writers", "secretName": "taken"}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(
        &tokens,
        "taker",
        "step 3: SecretConflict",
        has_reason("SecretConflict"),
    )
    .await;
    assert_eq!(
        live_tokens(&env).len(),
        1,
        "step 3: no token for a foreign Secret"
    );
    let after = secrets.get("taken").await.unwrap();
    assert_eq!(data(&after, "token").as_deref(), Some("mine"));
    tokens
        .delete("taker", &DeleteParams::default())
        .await
        .unwrap();

    // Retain keeps the token when its resource goes.
    tokens
        .create(
            &PostParams::default(),
            &token(
                "kept",
                json!({"policyRef": "writers", "deletionPolicy": "Retain"}),
            ),
        )
        .await
        .unwrap();
    env.wait_for(
        &tokens,
        "kept",
        "step 4: the retained token is Ready",
        is_ready,
    )
    .await;
    tokens
        .delete("kept", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 4: the retained token's resource is gone", || async {
        tokens.get_opt("kept").await.unwrap().is_none()
    })
    .await;
    assert_eq!(live_tokens(&env).len(), 2, "step 4: Retain kept the token");

    // Deleting the namespace deletes the policy and, with it, every token.
    env.delete_namespace(&ns).await;
    assert!(
        env.sim.control().policies(ORG).is_empty(),
        "step 5: the namespace's policy is deleted remotely"
    );
    assert!(
        live_tokens(&env).is_empty(),
        "step 5: its tokens went with it"
    );
    env.assert_no_token_leaked().await;
}

/// A same-named policy someone else made is never touched; a create whose answer was lost is
/// adopted, not repeated; Retain keeps the policy.
#[tokio::test]
async fn foreign_policies_lost_creates_and_retain() {
    let env = Env::start().await;
    let ns = env.namespace("squat").await;
    let stacks: Api<GrafanaStack> = env.api(&ns);
    stacks
        .create(&PostParams::default(), &stack("main", "squatmain"))
        .await
        .unwrap();
    let ready = env
        .wait_for(&stacks, "main", "step 1: the stack is Ready", is_ready)
        .await;
    let status = ready.status.unwrap();
    let region = status.region_slug.unwrap();
    let grafana = GrafanaClient::new(
        env.sim.base_url().parse().unwrap(),
        ClientOptions::default(),
    )
    .unwrap();
    let by_hand = PolicyBody {
        name: Some("squat-writers".into()),
        display_name: "made by hand".into(),
        scopes: vec!["metrics:read".into()],
        realms: vec![PolicyRealm {
            kind: "stack".into(),
            identifier: status.id.unwrap().to_string(),
            label_policies: Vec::new(),
        }],
        conditions: PolicyConditions::default(),
    };
    grafana
        .create_access_policy(&Token::new(ORG_TOKEN), &region, &by_hand)
        .await
        .unwrap();
    let policies: Api<GrafanaCloudAccessPolicy> = env.api(&ns);
    policies
        .create(
            &PostParams::default(),
            &policy("writers", &["metrics:write"]),
        )
        .await
        .unwrap();
    env.wait_for(
        &policies,
        "writers",
        "step 2: NameConflict",
        has_reason("NameConflict"),
    )
    .await;
    policies
        .delete("writers", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 2: the conflicting resource is gone", || async {
        policies.get_opt("writers").await.unwrap().is_none()
    })
    .await;
    let left = env.sim.control().policies(ORG);
    assert_eq!(left.len(), 1, "step 2: the hand-made policy was deleted");
    assert_eq!(
        left[0].scopes,
        ["metrics:read"],
        "step 2: the hand-made policy was changed"
    );

    // The create commits but answers 500: the policy is looked up and adopted.
    env.sim.control().inject(
        Fault::error_after(500)
            .on("POST", "/api/v1/accesspolicies")
            .times(1),
    );
    let mut kept = policy("lossy", &["metrics:write"]);
    kept.spec.deletion_policy = grafana_cloud_operator::crd::DeletionPolicy::Retain;
    policies
        .create(&PostParams::default(), &kept)
        .await
        .unwrap();
    env.wait_for(
        &policies,
        "lossy",
        "step 3: Ready after the lost answer",
        is_ready,
    )
    .await;
    let named = |name: &str| {
        env.sim
            .control()
            .policies(ORG)
            .into_iter()
            .filter(|p| p.name == name)
            .count()
    };
    assert_eq!(named("squat-lossy"), 1, "step 3: exactly one policy");
    assert_eq!(
        env.sim.control().count("POST", "/api/v1/accesspolicies"),
        2,
        "step 3: the lost create was repeated"
    );

    // Retain keeps it when the resource goes.
    policies
        .delete("lossy", &DeleteParams::default())
        .await
        .unwrap();
    env.eventually_async("step 4: the retained resource is gone", || async {
        policies.get_opt("lossy").await.unwrap().is_none()
    })
    .await;
    assert_eq!(named("squat-lossy"), 1, "step 4: Retain kept the policy");
    env.assert_no_token_leaked().await;
}
