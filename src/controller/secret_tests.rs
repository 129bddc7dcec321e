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
        connections: StackConnections {
            otlp_http_url: Some("https://otlp-gateway-prod-eu-west-0.grafana.net/otlp".into()),
            influx_url: Some("https://influx-prod-eu-west-0.grafana.net".into()),
            ..StackConnections::default()
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
        layout: match stack_key {
            true => Layout::StackKey,
            false => Layout::OrgKey,
        },
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

#[path = "secret_template_tests.rs"]
mod templates;

#[test]
fn a_policy_token_secret_holds_the_region_and_every_endpoint_of_its_stack() {
    let token = Token::new("glc_policy-token-value-123456");
    let record = record();
    let stack = stack();
    let material = Material {
        token: &token,
        org_slug: "acme",
        key: &record,
        stack: Some(&stack),
        layout: Layout::PolicyToken {
            region: "prod-eu-west-0",
        },
    };
    let secret = build(target(), &material, &Rendered::default());
    assert_eq!(text(&secret, "region").as_deref(), Some("prod-eu-west-0"));
    assert_eq!(
        text(&secret, "url").as_deref(),
        Some("https://teama.grafana.net")
    );
    assert_eq!(
        text(&secret, "prometheusRemoteWriteUrl").as_deref(),
        Some("https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push")
    );
    assert_eq!(text(&secret, "prometheusUserId").as_deref(), Some("123456"));
    assert_eq!(text(&secret, "lokiUserId").as_deref(), Some("654321"));
    assert_eq!(
        text(&secret, "otlpUrl").as_deref(),
        Some("https://otlp-gateway-prod-eu-west-0.grafana.net/otlp")
    );
    assert_eq!(text(&secret, "otlpUserId").as_deref(), Some("42"));
    assert_eq!(
        text(&secret, "tempoUrl"),
        None,
        "a service the stack lacks is left out"
    );

    let template = SecretTemplate {
        data: BTreeMap::from([(
            "otlp.env".to_string(),
            "OTEL_EXPORTER_OTLP_ENDPOINT={{ stack.endpoints.otlp.url }}\n\
             OTLP_USER={{ stack.endpoints.otlp.userId }}\n\
             REGION={{ region }} NAME={{ tokenName }}"
                .to_string(),
        )]),
        ..SecretTemplate::default()
    };
    let rendered = render(&template, &material).unwrap();
    let env = &rendered.data["otlp.env"];
    assert!(
        env.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT=https://otlp-gateway"),
        "{env}"
    );
    assert!(
        env.ends_with(&format!("REGION=prod-eu-west-0 NAME={}", record.name)),
        "{env}"
    );
}
