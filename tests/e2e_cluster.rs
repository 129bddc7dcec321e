//! What only a real cluster shows: CRD validation and CEL rules in the API server, an
//! operator crash in the middle of a reconcile, and namespace deletion.

#![allow(clippy::unwrap_used)]

mod e2e;

use std::time::Duration;

use e2e::{CREDENTIALS, Env, Options, ready_of};
use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api,
    api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams},
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

fn ready(s: &GrafanaStack) -> bool {
    s.status
        .as_ref()
        .and_then(|st| ready_of(&st.conditions))
        .is_some_and(|(st, _)| st == "True")
}

fn reason_is(reason: &'static str) -> impl Fn(&GrafanaStack) -> bool {
    move |s| {
        s.status
            .as_ref()
            .and_then(|st| ready_of(&st.conditions))
            .is_some_and(|(_, r)| r == reason)
    }
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

/// Creates a raw object (not checked by the Rust types) and returns the API server's error
/// message, if it refused.
async fn rejection<K: kube::Resource<DynamicType = ()>>(
    env: &Env,
    ns: &str,
    obj: serde_json::Value,
) -> Option<String> {
    let raw: DynamicObject = serde_json::from_value(obj).unwrap();
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), ns, &ApiResource::erase::<K>(&()));
    match api.create(&PostParams::default(), &raw).await {
        Ok(_) => None,
        Err(kube::Error::Api(status)) => Some(status.message),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn api_server_rejects_bad_specs_with_readable_messages() {
    let env = Env::start().await;
    let ns = env.namespace("validation").await;
    let stacks: Api<GrafanaStack> = env.api(&ns);
    let creds = json!({"secretName": CREDENTIALS});

    let bad_slug = rejection::<GrafanaStack>(
        &env,
        &ns,
        stack("bad", json!({"slug": "Not_A_Slug", "credentials": creds})),
    )
    .await;
    assert!(
        bad_slug.as_deref().is_some_and(|m| m.contains("spec.slug")),
        "{bad_slug:?}"
    );
    let http_url = rejection::<GrafanaStack>(
        &env,
        &ns,
        stack(
            "plain",
            json!({"slug": "plainhttp", "url": "http://grafana.example.com", "credentials": creds}),
        ),
    )
    .await;
    assert!(
        http_url.as_deref().is_some_and(|m| m.contains("spec.url")),
        "{http_url:?}"
    );
    // grafana.com allows 10 labels, and the operator adds its ownership label.
    let labels: serde_json::Map<String, serde_json::Value> =
        (0..10).map(|i| (format!("k{i}"), json!("v"))).collect();
    let too_many = rejection::<GrafanaStack>(
        &env,
        &ns,
        stack(
            "many",
            json!({"slug": "manylabels", "labels": labels, "credentials": creds}),
        ),
    )
    .await;
    assert!(
        too_many
            .as_deref()
            .is_some_and(|m| m.contains("spec.labels")),
        "{too_many:?}"
    );
    let nine: serde_json::Map<String, serde_json::Value> =
        (0..9).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(
        rejection::<GrafanaStack>(
            &env,
            &ns,
            stack(
                "nine",
                json!({"slug": "ninelabels", "labels": nine, "credentials": creds}),
            ),
        )
        .await,
        None,
        "nine labels, with the ownership label ten, must be accepted"
    );
    let bad_key = rejection::<GrafanaStack>(
        &env,
        &ns,
        stack(
            "badkey",
            json!({"slug": "badkey", "labels": {"no spaces": "v"}, "credentials": creds}),
        ),
    )
    .await;
    assert!(
        bad_key.as_deref().is_some_and(|m| m.contains("label keys")),
        "{bad_key:?}"
    );

    // Immutable fields.
    assert!(
        rejection::<GrafanaStack>(
            &env,
            &ns,
            stack(
                "fixed",
                json!({"slug": "fixedslug", "region": "us", "credentials": creds})
            )
        )
        .await
        .is_none()
    );
    let change = |spec: serde_json::Value| {
        let stacks = stacks.clone();
        async move {
            stacks
                .patch(
                    "fixed",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": spec})),
                )
                .await
                .err()
                .map(|e| e.to_string())
        }
    };
    let slug = change(json!({"slug": "otherslug"})).await;
    assert!(
        slug.as_deref()
            .is_some_and(|m| m.contains("slug is immutable")),
        "{slug:?}"
    );
    let region = change(json!({"region": "eu"})).await;
    assert!(
        region
            .as_deref()
            .is_some_and(|m| m.contains("region is immutable")),
        "{region:?}"
    );
    let removed = change(json!({"region": null})).await;
    assert!(
        removed
            .as_deref()
            .is_some_and(|m| m.contains("region is immutable")),
        "{removed:?}"
    );
    assert!(change(json!({"description": "mutable"})).await.is_none());

    // Key rules: MetricsPublisher is for org keys only; TTL and rotation need a stack key.
    let keys: Api<GrafanaCloudApiKey> = env.api(&ns);
    let key = |name: &str, spec: serde_json::Value| {
        json!({"apiVersion": "grafanacloud.operator.dev/v1alpha1", "kind": "GrafanaCloudApiKey",
               "metadata": {"name": name}, "spec": spec})
    };
    let publisher = rejection::<GrafanaCloudApiKey>(
        &env,
        &ns,
        key("pub", json!({"role": "MetricsPublisher", "stackRef": "s"})),
    )
    .await;
    assert!(
        publisher
            .as_deref()
            .is_some_and(|m| m.contains("MetricsPublisher")),
        "{publisher:?}"
    );
    let ttl = rejection::<GrafanaCloudApiKey>(
        &env,
        &ns,
        key("ttl", json!({"role": "Viewer", "secondsToLive": 60})),
    )
    .await;
    assert!(
        ttl.as_deref().is_some_and(|m| m.contains("secondsToLive")),
        "{ttl:?}"
    );
    // Stack keys cannot be revoked: lifetimes and renewals that would churn keys are refused.
    let short = rejection::<GrafanaCloudApiKey>(
        &env,
        &ns,
        key(
            "short",
            json!({"role": "Viewer", "stackRef": "s", "secondsToLive": 59}),
        ),
    )
    .await;
    assert!(
        short
            .as_deref()
            .is_some_and(|m| m.contains("spec.secondsToLive")),
        "{short:?}"
    );
    let eager = rejection::<GrafanaCloudApiKey>(
        &env,
        &ns,
        key(
            "eager",
            json!({"role": "Viewer", "stackRef": "s", "secondsToLive": 60,
                   "rotation": {"renewBefore": "31s"}}),
        ),
    )
    .await;
    assert!(
        eager
            .as_deref()
            .is_some_and(|m| m.contains("at least 30s shorter")),
        "{eager:?}"
    );
    assert_eq!(
        rejection::<GrafanaCloudApiKey>(
            &env,
            &ns,
            key(
                "paced",
                json!({"role": "Viewer", "stackRef": "s", "secondsToLive": 60,
                       "rotation": {"renewBefore": "30s"}}),
            ),
        )
        .await,
        None
    );
    let role =
        rejection::<GrafanaCloudApiKey>(&env, &ns, key("role", json!({"role": "Owner"}))).await;
    assert!(
        role.as_deref().is_some_and(|m| m.contains("spec.role")),
        "{role:?}"
    );
    assert!(
        rejection::<GrafanaCloudApiKey>(&env, &ns, key("ok", json!({"role": "Viewer"})))
            .await
            .is_none()
    );
    let role_change = keys
        .patch(
            "ok",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"role": "Admin"}})),
        )
        .await
        .err()
        .map(|e| e.to_string());
    assert!(
        role_change
            .as_deref()
            .is_some_and(|m| m.contains("role is immutable")),
        "{role_change:?}"
    );
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
        !ready(&api.get("crashy").await.unwrap()),
        "killed before readiness"
    );
    env.start_operator();
    env.wait_for(&api, "crashy", "Ready after restart", ready)
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
        env.wait_for(&api, name, "Ready", ready).await;
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
        ready,
    )
    .await;
    let refused = env
        .wait_for(
            &env.api::<GrafanaStack>(&denied),
            "nocreds",
            "CredentialsNotFound",
            reason_is("CredentialsNotFound"),
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
    env.wait_for(&api, "nocreds", "Unauthorized", reason_is("Unauthorized"))
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
        ready,
    )
    .await;
    env.assert_no_token_leaked().await;
}
