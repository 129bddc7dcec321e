//! Secret templates: rendering, the variables each key sees, and the bounds.

use super::*;

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
fn the_documented_remote_write_example_renders() {
    let example: crate::crd::GrafanaCloudApiKey = serde_saphyr::from_str(include_str!(
        "../../deploy/examples/remote-write-secret.yaml"
    ))
    .unwrap();
    let template = example.spec.secret_template.unwrap();
    assert_eq!(template.stack_ref.as_deref(), Some("team-a"));
    let token = Token::new(TOKEN);
    let (record, stack) = (record(), stack());
    let rendered = render(&template, &material(&token, &record, Some(&stack), false)).unwrap();
    let config: serde_json::Value =
        serde_saphyr::from_str(&rendered.data["remote-write.yaml"]).unwrap();
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
