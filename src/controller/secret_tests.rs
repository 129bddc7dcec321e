#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::OwnerReference, jiff::Timestamp,
};

use super::*;
use crate::crd::{Endpoint, SecretTemplate, StackEndpoints};

const UID: &str = "6a1f0c2e-0d55-4f0b-9a57-5b2a7f3e8c11";
const TOKEN: &str = "glc_secret_value_1234567890";

fn owner(uid: &str, controller: bool) -> OwnerReference {
    OwnerReference {
        api_version: "grafanacloud.operator.dev/v1alpha1".into(),
        kind: "GrafanaCloudApiKey".into(),
        name: "team-a".into(),
        uid: uid.into(),
        controller: Some(controller),
        block_owner_deletion: Some(true),
    }
}

fn record() -> KeyRecord {
    KeyRecord {
        name: "team-a-metrics".into(),
        id: "17".into(),
        created_at: Timestamp::from_second(1_800_000_000).unwrap(),
        expires_at: Some(Timestamp::from_second(1_800_003_600).unwrap()),
        stack_id: Some(42),
    }
}

fn stack() -> StackFacts {
    StackFacts {
        slug: "teama".into(),
        id: Some(42),
        url: Some("https://teama.grafana.net".into()),
        org_slug: Some("acme".into()),
        endpoints: StackEndpoints {
            prometheus: Some(Endpoint {
                url: "https://prometheus-prod-01-eu-west-0.grafana.net".into(),
                user_id: Some(123456),
            }),
            loki: Some(Endpoint {
                url: "https://logs-prod-eu-west-0.grafana.net".into(),
                user_id: Some(654321),
            }),
            ..StackEndpoints::default()
        },
    }
}

fn material<'a>(
    token: &'a Token,
    record: &'a KeyRecord,
    stack: Option<&'a StackFacts>,
    stack_key: bool,
) -> Material<'a> {
    Material {
        token,
        org_slug: "acme",
        key: record,
        stack,
        stack_key,
    }
}

fn target() -> Target<'static> {
    Target {
        name: "team-a",
        namespace: "team-a",
        owner: owner(UID, true),
    }
}

fn text(secret: &Secret, key: &str) -> Option<String> {
    let value = secret.data.as_ref()?.get(key)?;
    Some(String::from_utf8(value.0.clone()).unwrap())
}

fn data_keys(secret: &Secret) -> Vec<&str> {
    secret
        .data
        .as_ref()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn org_key_secret_has_token_org_slug_owner_and_managed_by_label() {
    let token = Token::new(TOKEN);
    let record = record();
    let secret = build(
        target(),
        &material(&token, &record, None, false),
        &Rendered::default(),
    );
    assert_eq!(data_keys(&secret), ["orgSlug", "token"]);
    assert_eq!(text(&secret, "token").as_deref(), Some(TOKEN));
    assert_eq!(text(&secret, "orgSlug").as_deref(), Some("acme"));
    assert_eq!(
        secret.metadata.labels.as_ref().unwrap()[MANAGED_BY_LABEL],
        MANAGED_BY_VALUE
    );
    assert_eq!(
        secret.metadata.owner_references,
        Some(vec![owner(UID, true)])
    );
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
}

#[test]
fn stack_key_secret_adds_stack_slug_and_url() {
    let token = Token::new(TOKEN);
    let (record, stack) = (record(), stack());
    let secret = build(
        target(),
        &material(&token, &record, Some(&stack), true),
        &Rendered::default(),
    );
    assert_eq!(data_keys(&secret), ["orgSlug", "stackSlug", "token", "url"]);
    assert_eq!(text(&secret, "stackSlug").as_deref(), Some("teama"));
    assert_eq!(
        text(&secret, "url").as_deref(),
        Some("https://teama.grafana.net")
    );
}

#[test]
fn key_identity_round_trips_through_the_secret() {
    let token = Token::new(TOKEN);
    let record = record();
    let secret = build(
        target(),
        &material(&token, &record, None, false),
        &Rendered::default(),
    );
    assert_eq!(stored_record(&secret), Some(record));
    assert_eq!(stored_token(&secret).unwrap().expose(), TOKEN);
}

#[test]
fn a_secret_without_token_has_no_stored_token() {
    let mut secret = Secret::default();
    assert!(stored_token(&secret).is_none());
    secret.data = Some(BTreeMap::from([(
        "token".to_string(),
        k8s_openapi::ByteString(b"  ".to_vec()),
    )]));
    assert!(stored_token(&secret).is_none());
    assert!(stored_record(&secret).is_none());
}

#[test]
fn only_a_secret_controlled_by_this_uid_is_owned() {
    let with_owners = |owners: Vec<OwnerReference>| Secret {
        metadata: ObjectMeta {
            owner_references: Some(owners),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    assert!(matches!(classify(None, UID), Existing::Absent));
    assert!(matches!(
        classify(Some(Secret::default()), UID),
        Existing::Foreign
    ));
    assert!(matches!(
        classify(Some(with_owners(vec![owner("someone-else", true)])), UID),
        Existing::Foreign
    ));
    assert!(matches!(
        classify(Some(with_owners(vec![owner(UID, false)])), UID),
        Existing::Foreign
    ));
    assert!(matches!(
        classify(Some(with_owners(vec![owner(UID, true)])), UID),
        Existing::Owned(_)
    ));
    assert!(matches!(
        classify(Some(with_owners(vec![owner("", true)])), ""),
        Existing::Foreign
    ));
}

#[test]
fn remote_write_config_renders_from_a_metrics_publisher_key_and_a_stack() {
    let token = Token::new(TOKEN);
    let (record, stack) = (record(), stack());
    let template = SecretTemplate {
        stack_ref: Some("team-a".into()),
        data: BTreeMap::from([(
            "remote-write.yaml".to_string(),
            "remote_write:\n  - url: {{ stack.endpoints.prometheus.url }}/api/prom/push\n    \
             basic_auth:\n      username: \"{{ stack.endpoints.prometheus.userId }}\"\n      \
             password: \"{{ token }}\"\n"
                .to_string(),
        )]),
        labels: BTreeMap::from([("stack".to_string(), "{{ stack.slug }}".to_string())]),
        annotations: BTreeMap::from([(
            "example.com/key".to_string(),
            "{{ keyName }} in {{ orgSlug }}".to_string(),
        )]),
    };
    let rendered = render(&template, &material(&token, &record, Some(&stack), false)).unwrap();
    assert_eq!(
        rendered.data["remote-write.yaml"],
        format!(
            "remote_write:\n  - url: https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push\n    \
             basic_auth:\n      username: \"123456\"\n      password: \"{TOKEN}\"\n"
        )
    );
    assert_eq!(rendered.labels["stack"], "teama");
    assert!(
        !format!("{rendered:?}").contains(TOKEN),
        "Debug redacts data"
    );
    assert_eq!(
        rendered.annotations["example.com/key"],
        "team-a-metrics in acme"
    );

    let secret = build(
        target(),
        &material(&token, &record, Some(&stack), false),
        &rendered,
    );
    assert_eq!(
        data_keys(&secret),
        ["orgSlug", "remote-write.yaml", "token"]
    );
    let labels = secret.metadata.labels.unwrap();
    assert_eq!(labels["stack"], "teama");
    assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    let annotations = secret.metadata.annotations.unwrap();
    assert_eq!(annotations["example.com/key"], "team-a-metrics in acme");
    assert_eq!(annotations[KEY_NAME_ANNOTATION], "team-a-metrics");
}

fn data_template(source: &str) -> SecretTemplate {
    SecretTemplate {
        data: BTreeMap::from([("config".to_string(), source.to_string())]),
        ..SecretTemplate::default()
    }
}

#[test]
fn an_org_key_without_stack_context_cannot_use_stack_variables() {
    let token = Token::new(TOKEN);
    let record = record();
    let err = render(
        &data_template("{{ stack.url }}"),
        &material(&token, &record, None, false),
    )
    .unwrap_err();
    assert_eq!(err.field, "data.config");
    assert!(err.problem.contains("undefined"), "{err}");
}

#[test]
fn missing_endpoints_and_typos_are_errors_not_empty_strings() {
    let token = Token::new(TOKEN);
    let (record, stack) = (record(), stack());
    let m = material(&token, &record, Some(&stack), true);
    assert!(render(&data_template("{{ stack.endpoints.tempo.url }}"), &m).is_err());
    assert!(render(&data_template("{{ tokne }}"), &m).is_err());
    assert!(render(&data_template("{{ stack.endpoints.loki.userId }}"), &m).is_ok());
}

#[test]
fn template_errors_never_show_the_token() {
    let token = Token::new(TOKEN);
    let record = record();
    let m = material(&token, &record, None, false);
    for source in [
        "{{ token + 1 }}",
        "{{ token.nope }}",
        "{{ token | int }}",
        "{{ token(",
    ] {
        if let Err(err) = render(&data_template(source), &m) {
            assert!(!err.to_string().contains(TOKEN), "{source}: {err}");
        }
    }
}

#[test]
fn labels_and_annotations_may_not_carry_the_token() {
    let token = Token::new(TOKEN);
    let record = record();
    let m = material(&token, &record, None, false);
    let template = SecretTemplate {
        annotations: BTreeMap::from([("example.com/t".to_string(), "{{ token }}".to_string())]),
        ..SecretTemplate::default()
    };
    let err = render(&template, &m).unwrap_err();
    assert_eq!(err.field, "annotations.example.com/t");
    assert!(!err.to_string().contains(TOKEN));
}

#[test]
fn reserved_and_invalid_keys_and_label_values_are_rejected() {
    let token = Token::new(TOKEN);
    let record = record();
    let m = material(&token, &record, None, false);
    let err = render(&data_template("x").with_data_key("token"), &m).unwrap_err();
    assert_eq!(err.field, "data.token");
    assert!(render(&data_template("x").with_data_key("bad key"), &m).is_err());
    let labels = |k: &str, v: &str| SecretTemplate {
        labels: BTreeMap::from([(k.to_string(), v.to_string())]),
        ..SecretTemplate::default()
    };
    assert!(render(&labels("team", "has spaces"), &m).is_err());
    assert!(render(&labels(MANAGED_BY_LABEL, "me"), &m).is_err());
    assert!(render(&labels("example.com/team", "a-b_c.d"), &m).is_ok());
    let annotation = |k: &str| SecretTemplate {
        annotations: BTreeMap::from([(k.to_string(), "x".to_string())]),
        ..SecretTemplate::default()
    };
    assert!(render(&annotation(KEY_ID_ANNOTATION), &m).is_err());
    assert!(render(&annotation("grafanacloud.operator.dev/stack"), &m).is_ok());
    let long = "a".repeat(64);
    assert!(render(&labels("team", &long), &m).is_err());
}

trait WithDataKey {
    fn with_data_key(self, key: &str) -> Self;
}

impl WithDataKey for SecretTemplate {
    fn with_data_key(mut self, key: &str) -> Self {
        let data = std::mem::take(&mut self.data);
        self.data = data.into_values().map(|v| (key.to_string(), v)).collect();
        self
    }
}

#[test]
fn an_unchanged_secret_needs_no_write_and_a_new_token_does() {
    let token = Token::new(TOKEN);
    let record = record();
    let desired = build(
        target(),
        &material(&token, &record, None, false),
        &Rendered::default(),
    );
    let mut current = desired.clone();
    current.metadata.resource_version = Some("12".into());
    assert!(up_to_date(&current, &desired));
    let other = Token::new("glc_other");
    let rotated = build(
        target(),
        &material(&other, &record, None, false),
        &Rendered::default(),
    );
    assert!(!up_to_date(&current, &rotated));
}

#[test]
fn the_documented_remote_write_example_renders() {
    let example: crate::crd::GrafanaCloudApiKey = serde_yaml::from_str(include_str!(
        "../../deploy/examples/remote-write-secret.yaml"
    ))
    .unwrap();
    let template = example.spec.secret_template.unwrap();
    assert_eq!(template.stack_ref.as_deref(), Some("team-a"));
    let token = Token::new(TOKEN);
    let (record, stack) = (record(), stack());
    let rendered = render(&template, &material(&token, &record, Some(&stack), false)).unwrap();
    let config: serde_yaml::Value =
        serde_yaml::from_str(&rendered.data["remote-write.yaml"]).unwrap();
    let target = &config["remote_write"][0];
    assert_eq!(
        target["url"].as_str(),
        Some("https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push")
    );
    assert_eq!(target["basic_auth"]["username"].as_str(), Some("123456"));
    assert_eq!(target["basic_auth"]["password"].as_str(), Some(TOKEN));
}

fn data_templates(pairs: &[(&str, &str)]) -> SecretTemplate {
    SecretTemplate {
        data: pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        ..SecretTemplate::default()
    }
}

#[test]
fn a_value_that_renders_too_large_is_stopped_with_a_clear_message() {
    let token = Token::new(TOKEN);
    let record = record();
    let template = data_templates(&[("big", "{% for i in range(30000) %}{{ token }}{% endfor %}")]);
    let err = render(&template, &material(&token, &record, None, false)).unwrap_err();
    assert_eq!(err.field, "data.big");
    assert!(err.problem.contains("256 KiB"), "{}", err.problem);
    assert!(!err.to_string().contains(TOKEN));
}

#[test]
fn values_that_add_up_past_the_secret_budget_are_refused() {
    let token = Token::new(TOKEN);
    let record = record();
    let third = "{{ 'x' * 200000 }}";
    let template = data_templates(&[("a", third), ("b", third), ("c", third)]);
    let err = render(&template, &material(&token, &record, None, false)).unwrap_err();
    assert!(err.problem.contains("512 KiB"), "{}", err.problem);
    let two = data_templates(&[("a", third), ("b", third)]);
    assert!(render(&two, &material(&token, &record, None, false)).is_ok());
}
