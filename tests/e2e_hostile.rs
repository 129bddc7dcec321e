//! Hostile input and faults end to end (SPEC §5, §7.6): an odd reply from grafana.com or a
//! Secret the API server refuses costs one resource a clear condition, never the operator,
//! never a leaked key; a delete of something that never reached grafana.com never hangs.

#![allow(clippy::unwrap_used)]

mod e2e;
#[path = "e2e_apikey/support.rs"]
#[allow(dead_code)]
mod support;

use std::time::Duration;

use e2e::{CREDENTIALS, Env, ORG, OTHER_ORG, OTHER_TOKEN, has_reason, is_ready};
use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use grafana_cloud_simulator::Fault;
use k8s_openapi::api::core::v1::{ResourceQuota, Secret};
use kube::{
    Api,
    api::{DeleteParams, DynamicObject, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use serde_json::json;
use support::{KEYS, STACK_KEYS, key, live_org_token, ready, reason_is};

fn message(k: &GrafanaCloudApiKey) -> String {
    let status = k.status.as_ref().unwrap();
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
    ready.map(|c| c.message.clone()).unwrap_or_default()
}

/// A namespace whose credentials belong to the second org, untouched by faults aimed at the
/// first.
async fn calm_namespace(env: &Env, name: &str) -> String {
    let ns = env.namespace(name).await;
    let secrets: Api<Secret> = env.api(&ns);
    secrets
        .delete(CREDENTIALS, &DeleteParams::default())
        .await
        .unwrap();
    env.credentials_secret(&ns, CREDENTIALS, OTHER_TOKEN, OTHER_ORG)
        .await;
    ns
}

/// Step: a 429 asking to wait longer than any clock holds parks that one key, and a key and
/// a stack created afterwards in another namespace still get Ready from the same process.
#[tokio::test]
async fn an_endless_retry_after_parks_one_key_and_the_operator_serves_everyone_else() {
    let env = Env::start().await;
    let hostile = env.namespace("hostile").await;
    let calm = calm_namespace(&env, "calm").await;
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
            reason_is("RateLimited"),
        )
        .await;
    env.wait_for(
        &hostile_keys,
        "bomb",
        "step 1: the template bomb is InvalidSpec",
        reason_is("InvalidSpec"),
    )
    .await;
    env.wait_for(
        &hostile_stacks,
        "forever",
        "step 1: the stack with an absurd resync interval still gets Ready",
        is_ready,
    )
    .await;
    assert!(message(&parked).contains("429"), "{}", message(&parked));

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
        ready,
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
        ready,
    )
    .await;
    assert!(
        !env.operator_log().contains("panicked"),
        "the operator panicked"
    );
    env.assert_no_token_leaked().await;
}

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
/// with the API server's words and create nothing at grafana.com; the quota goes → both get
/// Ready with exactly one key each.
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
                reason_is("SecretRejected"),
            )
            .await;
        assert!(
            message(&refused).contains("exceeded quota"),
            "step 2: the condition quotes the API server: {}",
            message(&refused)
        );
    }
    // Positive signal seen (both refused); retries happen meanwhile, and none may create.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        0,
        "step 2: an org key was created for a Secret that was refused"
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
            ready,
        )
        .await;
    }
    assert_eq!(env.sim.control().count("POST", KEYS), 1);
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
            reason_is("SecretRejected"),
        )
        .await;
    assert!(
        message(&refused).contains("tokens are not welcome here"),
        "{}",
        message(&refused)
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
        ready,
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
    let passes = || {
        env.operator_log()
            .lines()
            .filter(|l| l.contains("\"reconciled\"") && l.contains("/main.restart"))
            .count()
    };
    let before = passes();
    stacks
        .patch(
            "main",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"labels": {"poke": "1"}}})),
        )
        .await
        .unwrap();
    env.eventually("step 3: one more pass ran after the label change", || {
        passes() > before
    })
    .await;
    assert_eq!(
        env.sim
            .control()
            .count("POST", "/api/instances/{slug}/restart"),
        1,
        "step 3: the restart was sent again"
    );
}
