//! A Secret the API server refuses, before or after the create: nothing stays live
//! without its token in a Secret, and the condition quotes the API server.

use std::time::Duration;

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use k8s_openapi::api::core::v1::{ResourceQuota, Secret};
use kube::{
    Api,
    api::{DeleteParams, DynamicObject, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use serde_json::json;

use super::{
    e2e::{Env, has_reason, is_ready, ready_message},
    support::{self, KEYS, STACK_KEYS, key, live_org_token},
};

/// A ResourceQuota that allows no more Secrets in `ns`, once the quota controller has
/// counted what is there (before that, admission refuses everything anyway).
async fn no_more_secrets(env: &Env, ns: &str) {
    let quotas: Api<ResourceQuota> = env.api(ns);
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "no-more-secrets"},
        "spec": {"hard": {"count/secrets": "1"}},
    }))
    .unwrap();
    quotas.create(&PostParams::default(), &quota).await.unwrap();
    env.wait_for(&quotas, "no-more-secrets", "the quota is counted", |q| {
        q.status
            .as_ref()
            .and_then(|s| s.used.as_ref())
            .is_some_and(|used| used.contains_key("count/secrets"))
    })
    .await;
}

/// Steps: a quota refuses the Secret → both an org key and a stack key say SecretRejected
/// with the API server's words; the stack key (which cannot be revoked) creates nothing, the
/// org key's first attempt creates one key and deletes it at once, and the retries that
/// follow create none; the quota goes → both get Ready with one live key each.
#[tokio::test]
async fn a_refused_secret_creates_no_key_and_says_what_refused_it() {
    let env = Env::start().await;
    let ns = env.namespace("quota").await;
    let stacks: Api<GrafanaStack> = env.api(&ns);
    stacks
        .create(&PostParams::default(), &support::stack("main", "quotamain"))
        .await
        .unwrap();
    env.wait_for(&stacks, "main", "step 1: the stack is Ready", is_ready)
        .await;
    no_more_secrets(&env, &ns).await;

    let keys: Api<GrafanaCloudApiKey> = env.api(&ns);
    keys.create(
        &PostParams::default(),
        &key("org", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    keys.create(
        &PostParams::default(),
        &key(
            "stack",
            json!({"role": "Viewer", "stackRef": "main", "secondsToLive": 3600}),
        ),
    )
    .await
    .unwrap();
    for name in ["org", "stack"] {
        let refused = env
            .wait_for(
                &keys,
                name,
                "step 2: SecretRejected while the quota is full",
                has_reason("SecretRejected"),
            )
            .await;
        assert!(
            ready_message(&refused).contains("exceeded quota"),
            "step 2: the condition quotes the API server: {}",
            ready_message(&refused)
        );
    }
    env.eventually(
        "step 2: the org key created before the first refusal is deleted again",
        || env.sim.control().count("DELETE", support::KEY) == 1,
    )
    .await;
    // Positive signal seen (both refused); retries happen meanwhile, and none may create.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        1,
        "step 2: an org key's retry created a key for a Secret still refused (only the \
         first attempt may)"
    );
    assert!(
        live_org_token(&env, "quota-org").is_none(),
        "step 2: a key is live while its Secret is refused"
    );
    assert_eq!(
        env.sim.control().count("POST", STACK_KEYS),
        0,
        "step 2: a stack key was created for a Secret that was refused"
    );

    let quotas: Api<ResourceQuota> = env.api(&ns);
    quotas
        .delete("no-more-secrets", &DeleteParams::default())
        .await
        .unwrap();
    for name in ["org", "stack"] {
        env.wait_for_timeout(
            &keys,
            name,
            "step 3: Ready once the quota is gone",
            Duration::from_secs(120),
            is_ready,
        )
        .await;
    }
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        2,
        "step 3: one org key for the refused attempt, one once the quota is gone"
    );
    assert_eq!(env.sim.control().count("POST", STACK_KEYS), 1);
    assert!(live_org_token(&env, "quota-org").is_some());
    env.assert_no_token_leaked().await;
}

/// An admission policy that lets a managed Secret in only with a placeholder token: the
/// operator's dry run passes, every real write is refused.
async fn refuse_real_tokens(env: &Env) -> (Api<DynamicObject>, Api<DynamicObject>) {
    let resource = |kind: &str| {
        ApiResource::from_gvk(&GroupVersionKind::gvk(
            "admissionregistration.k8s.io",
            "v1",
            kind,
        ))
    };
    let policies: Api<DynamicObject> =
        Api::all_with(env.client.clone(), &resource("ValidatingAdmissionPolicy"));
    let bindings: Api<DynamicObject> = Api::all_with(
        env.client.clone(),
        &resource("ValidatingAdmissionPolicyBinding"),
    );
    let policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "only-placeholder-tokens"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["secrets"],
            }]},
            "validations": [{
                // The value may reach CEL as bytes or as its base64 text: accept either
                // spelling of "placeholder-token-".
                "expression": "!has(object.data) || !('token' in object.data) || \
                               string(object.data['token']).startsWith('placeholder-token-') || \
                               string(object.data['token']).startsWith('cGxhY2Vob2xkZXItdG9rZW4t')",
                "message": "tokens are not welcome here",
            }],
        },
    }))
    .unwrap();
    let binding: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "only-placeholder-tokens"},
        "spec": {
            "policyName": "only-placeholder-tokens",
            "validationActions": ["Deny"],
            "matchResources": {"objectSelector": {"matchLabels": {
                "app.kubernetes.io/managed-by": "grafana-cloud-operator",
            }}},
        },
    }))
    .unwrap();
    policies
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    (policies, bindings)
}

/// Steps: the dry run passes but the real write is refused → each org key created is
/// deleted again, creates stay within the backoff, and no live key is left without its
/// token; the policy goes → exactly one key, its token in the Secret.
#[tokio::test]
async fn a_secret_refused_after_the_create_never_leaves_a_live_key() {
    let env = Env::start().await;
    let ns = env.namespace("policy").await;
    let (policies, bindings) = refuse_real_tokens(&env).await;
    // The policy takes a moment to load: wait until it refuses a managed Secret.
    let secrets: Api<Secret> = env.api(&ns);
    let probe: Secret = serde_json::from_value(json!({
        "metadata": {"name": "probe", "labels": {
            "app.kubernetes.io/managed-by": "grafana-cloud-operator"}},
        "stringData": {"token": "real"},
    }))
    .unwrap();
    env.eventually_async("the policy refuses real tokens", || async {
        let dry = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        secrets.create(&dry, &probe).await.is_err()
    })
    .await;

    let keys: Api<GrafanaCloudApiKey> = env.api(&ns);
    keys.create(
        &PostParams::default(),
        &key("refused", json!({"role": "Viewer"})),
    )
    .await
    .unwrap();
    let refused = env
        .wait_for(
            &keys,
            "refused",
            "step 1: SecretRejected after the create",
            has_reason("SecretRejected"),
        )
        .await;
    assert!(
        ready_message(&refused).contains("tokens are not welcome here"),
        "{}",
        ready_message(&refused)
    );
    env.eventually(
        "step 1: the key created for the refused Secret is deleted",
        || env.sim.control().count("DELETE", support::KEY) >= 1,
    )
    .await;
    let window = Duration::from_secs(12);
    tokio::time::sleep(window).await;
    let creates = env.sim.control().count("POST", KEYS);
    let deletes = env.sim.control().count("DELETE", support::KEY);
    // Backoff of 1, 2, 4, 8 s from the first refusal: at most 5 attempts in the window.
    assert!(
        (1..=5).contains(&creates),
        "step 2: {creates} creates in {window:?}: the refusal churns keys"
    );
    // Every key created for a refused Secret is deleted again (one may be in flight).
    assert!(
        deletes + 1 >= creates,
        "step 2: {creates} creates but only {deletes} deletes: keys leak"
    );

    bindings
        .delete("only-placeholder-tokens", &DeleteParams::default())
        .await
        .unwrap();
    policies
        .delete("only-placeholder-tokens", &DeleteParams::default())
        .await
        .unwrap();
    env.wait_for_timeout(
        &keys,
        "refused",
        "step 3: Ready once the policy is gone",
        Duration::from_secs(120),
        is_ready,
    )
    .await;
    let secret = secrets.get("refused").await.unwrap();
    assert_eq!(
        support::data(&secret, "token"),
        live_org_token(&env, "policy-refused"),
        "step 3: the one live key's token is in the Secret"
    );
    env.assert_no_token_leaked().await;
}
