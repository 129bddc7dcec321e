//! Stack keys and templates, with the GrafanaStack reconciled by its own real controller.

use std::time::Duration;

use grafana_cloud_operator::{
    controller::{
        apikey::{desired, stack_key},
        conditions::is_ready,
        shell::ManagedKind,
    },
    crd::{self, GrafanaStack},
};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::{Env, NAME, NS, env};

/// Applies GrafanaStack `slug` and runs its controller until it is Ready.
async fn ready_stack(env: &Env, slug: &str) -> GrafanaStack {
    let stack: GrafanaStack = serde_json::from_value(json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1",
        "kind": "GrafanaStack",
        "metadata": {"name": slug, "namespace": NS, "generation": 1},
        "spec": {"slug": slug, "credentials": {"secretName": "grafana-creds"}},
    }))
    .unwrap();
    env.cluster.put(&stack);
    for _ in 0..20 {
        let current: GrafanaStack = env.cluster.object(Some(NS), slug).unwrap();
        if current
            .status
            .as_ref()
            .is_some_and(|s| is_ready(&s.conditions))
        {
            return current;
        }
        GrafanaStack::apply(&current, &env.ctx).await.unwrap();
    }
    panic!("GrafanaStack {slug} did not become Ready in 20 passes");
}

fn text(secret: &k8s_openapi::api::core::v1::Secret, key: &str) -> String {
    let data = secret.data.as_ref().expect("the Secret has data");
    String::from_utf8(data[key].0.clone()).unwrap()
}

#[tokio::test]
async fn a_stack_key_waits_for_its_stack_and_its_secret_names_the_stack() {
    let env = env().await;
    env.put_key(
        "metrics",
        json!({"role": "Admin", "stackRef": "teama", "secondsToLive": 3600}),
    );
    env.pass("metrics").await.unwrap();
    assert_eq!(
        env.ready_reason("metrics"),
        "StackNotReady",
        "before the stack exists"
    );

    let stack = ready_stack(&env, "teama").await;
    env.pass("metrics").await.unwrap();
    assert!(
        is_ready(&env.status("metrics").conditions),
        "Ready once the stack is"
    );
    let keys = env.sim.control().stack_keys("teama");
    assert_eq!(keys.len(), 1, "exactly one stack key");
    assert!(keys[0].name.starts_with("team-a-metrics-") && keys[0].name.len() == NAME.len() + 9);
    assert_eq!(keys[0].seconds_to_live, Some(3600));
    assert_eq!(env.secret_token("metrics"), keys[0].token.expose());
    let secret = env.secret("metrics").unwrap();
    assert_eq!(text(&secret, "stackSlug"), "teama");
    let url = stack.status.and_then(|s| s.url).unwrap();
    assert_eq!(text(&secret, "url"), url);
    let status = env.status("metrics");
    let created: Timestamp = status.created_at.unwrap().parse().unwrap();
    let expires: Timestamp = status.expires_at.unwrap().parse().unwrap();
    assert_eq!(expires.as_second() - created.as_second(), 3600);
    env.assert_no_token_leaked();
}

#[tokio::test]
async fn rotation_is_due_at_renew_at_and_gives_a_new_name_and_token() {
    let env = env().await;
    let stack = ready_stack(&env, "teama").await;
    let facts = desired::stack_facts(&stack);
    let create = || {
        stack_key::create(
            &env.grafana,
            &env.token,
            &facts,
            NAME,
            crd::ApiKeyRole::Admin,
            Some(3600),
        )
    };
    let (first, record) = create().await.unwrap();
    let renew_before = Some(Duration::from_secs(600));
    let renew_at = desired::renew_at(&record, renew_before).unwrap();
    assert_eq!(
        record.expires_at.unwrap().as_second() - renew_at.as_second(),
        600
    );
    let need = desired::stack_key_need(Some(&record), true, facts.id, renew_before, renew_at);
    assert_eq!(need, Some(desired::StackKeyNeed::Renew));
    let (second, renewed) = create().await.unwrap();
    assert_ne!(renewed.name, record.name);
    assert_ne!(second.token.expose(), first.token.expose());
}

#[tokio::test]
async fn the_remote_write_template_renders_from_the_simulators_stack_endpoints() {
    let env = env().await;
    let stack = ready_stack(&env, "teamb").await;
    env.put_key(
        "metrics",
        json!({
            "role": "MetricsPublisher",
            "secretTemplate": {
                "stackRef": "teamb",
                "data": {
                    "remote-write.yaml": "url: {{ stack.endpoints.prometheus.url }}/api/prom/push\nusername: \"{{ stack.endpoints.prometheus.userId }}\"\npassword: \"{{ token }}\"\n",
                },
            },
        }),
    );
    env.pass("metrics").await.unwrap();
    let prometheus = stack
        .status
        .and_then(|s| s.endpoints)
        .and_then(|e| e.prometheus)
        .unwrap();
    assert_eq!(
        text(&env.secret("metrics").unwrap(), "remote-write.yaml"),
        format!(
            "url: {}/api/prom/push\nusername: \"{}\"\npassword: \"{}\"\n",
            prometheus.url,
            prometheus.user_id.unwrap(),
            env.only_live_token()
        )
    );
}
