//! CRD validation and CEL rules, as the API server applies them: a bad spec is refused
//! with a message that says what to fix.

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use kube::{
    Api,
    api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::{
    e2e::{CREDENTIALS, Env},
    stack,
};

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
