//! Stack keys and templates against the simulator's stacks.

use std::{collections::BTreeMap, time::Duration};

use grafana_cloud_operator::{
    controller::{
        apikey::{desired, org, stack_key},
        secret::{self, Material, Rendered, StackFacts},
        stack,
    },
    crd::{self, GrafanaStackStatus, SecretTemplate},
    grafana::{ApiKeyRole, CreateStack},
};
use k8s_openapi::jiff::Timestamp;

use super::{Env, NAME, ORG, assert_no_token_logged, env, only_live_token, secret_token, target};

/// A stack created in the simulator, seen the way a key sees its GrafanaStack's status.
async fn ready_stack(env: &Env, slug: &str) -> StackFacts {
    let created = env
        .grafana
        .create_stack(
            &env.token,
            &CreateStack {
                name: format!("{slug}.grafana.net"),
                slug: slug.into(),
                ..CreateStack::default()
            },
        )
        .await
        .unwrap();
    assert!(
        env.grafana
            .stack_ready(&env.token, created.id)
            .await
            .unwrap()
    );
    let mut status = GrafanaStackStatus::default();
    stack::desired::record_remote(&mut status, &created);
    let mut resource = crd::GrafanaStack::new(
        slug,
        serde_json::from_value(serde_json::json!({ "slug": slug })).unwrap(),
    );
    resource.status = Some(status);
    desired::stack_facts(&resource)
}

#[tokio::test]
async fn stack_keys_get_unique_names_a_lifetime_and_rotation_gives_a_new_token() {
    let env = env().await;
    let stack = ready_stack(&env, "teama").await;
    let before = Timestamp::now();
    let (first, record) = stack_key::create(
        &env.grafana,
        &env.token,
        &stack,
        NAME,
        crd::ApiKeyRole::Admin,
        Some(3600),
    )
    .await
    .unwrap();
    assert!(record.name.starts_with("team-a-metrics-") && record.name.len() == NAME.len() + 9);
    assert_eq!(record.stack_id, stack.id);
    let expires = record.expires_at.unwrap();
    assert_eq!(expires.as_second() - record.created_at.as_second(), 3600);
    assert!(record.created_at.as_second() >= before.as_second() - 1);

    // At renewAt the controller creates the replacement and switches the Secret to it.
    let renew_at = desired::renew_at(&record, Some(Duration::from_secs(600))).unwrap();
    assert_eq!(expires.as_second() - renew_at.as_second(), 600);
    let need = desired::stack_key_need(
        Some(&record),
        true,
        stack.id,
        Some(Duration::from_secs(600)),
        renew_at,
    );
    assert_eq!(need, Some(desired::StackKeyNeed::Renew));
    let (second, renewed) = stack_key::create(
        &env.grafana,
        &env.token,
        &stack,
        NAME,
        crd::ApiKeyRole::Admin,
        Some(3600),
    )
    .await
    .unwrap();
    assert_ne!(renewed.name, record.name);
    assert_ne!(second.token.expose(), first.token.expose());

    let keys = env.sim.control().stack_keys("teama");
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.seconds_to_live == Some(3600) && !k.expired)
    );
    let material = Material {
        token: &second.token,
        org_slug: ORG,
        key: &renewed,
        stack: Some(&stack),
        stack_key: true,
    };
    let secret = secret::build(target(), &material, &Rendered::default());
    assert_eq!(secret_token(&secret), keys[1].token.expose());
    let data = secret.data.unwrap();
    assert_eq!(data["stackSlug"].0, b"teama");
    assert_eq!(
        String::from_utf8(data["url"].0.clone()).unwrap(),
        stack.url.clone().unwrap()
    );
    assert_no_token_logged(&env);
}

#[tokio::test]
async fn the_remote_write_template_renders_from_the_simulators_stack_endpoints() {
    let env = env().await;
    let stack = ready_stack(&env, "teamb").await;
    let created = org::create(
        &env.grafana,
        &env.token,
        ORG,
        NAME,
        ApiKeyRole::MetricsPublisher,
        false,
    )
    .await
    .unwrap();
    let record = org::record(&created, Timestamp::now());
    let template = SecretTemplate {
        stack_ref: Some("teamb".into()),
        data: BTreeMap::from([(
            "remote-write.yaml".to_string(),
            "url: {{ stack.endpoints.prometheus.url }}/api/prom/push\n\
             username: \"{{ stack.endpoints.prometheus.userId }}\"\n\
             password: \"{{ token }}\"\n"
                .to_string(),
        )]),
        ..SecretTemplate::default()
    };
    let material = Material {
        token: &created.token,
        org_slug: ORG,
        key: &record,
        stack: Some(&stack),
        stack_key: false,
    };
    let rendered = secret::render(&template, &material).unwrap();
    let prometheus = stack.endpoints.prometheus.clone().unwrap();
    assert_eq!(
        rendered.data["remote-write.yaml"],
        format!(
            "url: {}/api/prom/push\nusername: \"{}\"\npassword: \"{}\"\n",
            prometheus.url,
            prometheus.user_id.unwrap(),
            only_live_token(&env)
        )
    );
}
