//! What only a real cluster shows: CRD validation and CEL rules in the API server, an
//! operator crash in the middle of a reconcile, and namespace deletion.

#![allow(clippy::unwrap_used)]

mod e2e;
#[path = "e2e_cluster/validation.rs"]
mod validation;

use std::time::Duration;

use e2e::{CREDENTIALS, Env, Options, has_reason, is_ready};
use grafana_cloud_operator::crd::GrafanaStack;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

fn stack(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1",
        "kind": "GrafanaStack",
        "metadata": {"name": name},
        "spec": spec,
    })
}

/// An operator whose default credentials are `gco-system/grafana-default` (holding `token`),
/// for namespaces labelled `grafana-cloud=enabled`; `options` adds to it.
async fn with_default_credentials(options: Options, token: &str) -> (Env, String) {
    let mut extra_args = options.extra_args.clone();
    extra_args.extend(
        [
            "--default-credentials-secret",
            "gco-system/grafana-default",
            "--default-credentials-namespace-selector",
            "grafana-cloud=enabled",
        ]
        .map(String::from),
    );
    let env = Env::start_with(Options {
        extra_args,
        ..options
    })
    .await;
    let system = env.namespace("gco-system").await;
    env.credentials_secret(&system, "grafana-default", token, e2e::ORG)
        .await;
    (env, system)
}

/// Lets `ns` use the default credentials.
async fn select_for_default_credentials(env: &Env, ns: &str) {
    Api::<Namespace>::all(env.client.clone())
        .patch(
            ns,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"grafana-cloud": "enabled"}}})),
        )
        .await
        .unwrap();
}

/// The operator is killed while the stack is provisioning; a new process converges without
/// creating the stack twice.
#[tokio::test]
async fn operator_restart_mid_reconcile_converges() {
    let mut env = Env::start_with(Options {
        readiness_delay: Duration::from_secs(4),
        ..Options::default()
    })
    .await;
    let ns = env.namespace("restart").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    let obj: GrafanaStack = serde_json::from_value(stack(
        "crashy",
        json!({"slug": "crashy", "credentials": {"secretName": CREDENTIALS}}),
    ))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    env.eventually("stack created remotely", || {
        env.sim.control().stack("crashy").is_some()
    })
    .await;
    env.kill_operator();
    assert!(
        !is_ready(&api.get("crashy").await.unwrap()),
        "killed before readiness"
    );
    env.start_operator();
    env.wait_for(&api, "crashy", "Ready after restart", is_ready)
        .await;
    assert_eq!(
        env.sim.control().count("POST", "/api/instances"),
        1,
        "the stack was created twice"
    );
    env.assert_no_token_leaked().await;
}

/// Deleting a namespace deletes its stacks remotely (finalizers run) and the namespace goes.
#[tokio::test]
async fn namespace_deletion_cleans_up_stacks() {
    let env = Env::start().await;
    let ns = env.namespace("doomed").await;
    let api: Api<GrafanaStack> = env.api(&ns);
    for (name, slug) in [("one", "doomedone"), ("two", "doomedtwo")] {
        let obj: GrafanaStack = serde_json::from_value(stack(
            name,
            json!({"slug": slug, "credentials": {"secretName": CREDENTIALS}}),
        ))
        .unwrap();
        api.create(&PostParams::default(), &obj).await.unwrap();
        env.wait_for(&api, name, "Ready", is_ready).await;
    }
    env.delete_namespace(&ns).await;
    for slug in ["doomedone", "doomedtwo"] {
        assert!(env.stack_deleted_remotely(slug), "{slug} left behind");
    }
}

/// Resources without spec.credentials fall back to the operator's default credentials only in
/// namespaces the selector matches; elsewhere they say so and call nothing.
#[tokio::test]
async fn default_credentials_only_for_selected_namespaces() {
    let (env, _) = with_default_credentials(Options::default(), e2e::ORG_TOKEN).await;
    let allowed = env.namespace("allowed").await;
    let denied = env.namespace("denied").await;
    select_for_default_credentials(&env, &allowed).await;

    for ns in [&allowed, &denied] {
        let obj: GrafanaStack =
            serde_json::from_value(stack("nocreds", json!({"slug": format!("{ns}stack")})))
                .unwrap();
        env.api::<GrafanaStack>(ns)
            .create(&PostParams::default(), &obj)
            .await
            .unwrap();
    }
    env.wait_for(
        &env.api::<GrafanaStack>(&allowed),
        "nocreds",
        "Ready with default credentials",
        is_ready,
    )
    .await;
    let refused = env
        .wait_for(
            &env.api::<GrafanaStack>(&denied),
            "nocreds",
            "CredentialsNotFound",
            has_reason("CredentialsNotFound"),
        )
        .await;
    let message = &refused.status.unwrap().conditions[0].message;
    assert!(message.contains("not allowed to use"), "{message}");
    assert!(env.sim.control().stack("deniedstack").is_none());
    assert!(
        env.sim
            .control()
            .requests()
            .iter()
            .all(|r| !r.path.contains("deniedstack")),
        "a namespace outside the selector reached grafana.com"
    );
}

/// With --namespace, the default credentials Secret lives outside the watched namespaces; the
/// operator still watches it, so fixing it takes effect at once rather than at the next
/// resync.
#[tokio::test]
async fn a_namespaced_operator_follows_default_credentials_outside_its_namespaces() {
    let options = Options {
        resync_interval: "10m",
        extra_args: vec!["--namespace".into(), "team-n".into()],
        ..Options::default()
    };
    let (env, system) = with_default_credentials(options, "glc_not-a-valid-token").await;
    let team = env.namespace("team-n").await;
    select_for_default_credentials(&env, &team).await;
    let api = env.api::<GrafanaStack>(&team);
    let obj: GrafanaStack =
        serde_json::from_value(stack("nocreds", json!({"slug": "teamnstack"}))).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    env.wait_for(&api, "nocreds", "Unauthorized", has_reason("Unauthorized"))
        .await;

    Api::<Secret>::namespaced(env.client.clone(), &system)
        .patch(
            "grafana-default",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"token": e2e::ORG_TOKEN}})),
        )
        .await
        .unwrap();
    env.wait_for(
        &api,
        "nocreds",
        "Ready after the default Secret was fixed",
        is_ready,
    )
    .await;
    env.assert_no_token_leaked().await;
}
