#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Duration};

use serde_json::json;

use super::*;
use crate::crd::{DatasourceStatus, DeletionPolicy};

const UID: &str = "0d5f6c1e-4c7e-4a43-9a1b-2f1f6a7e9b10";

fn spec(slug: &str) -> GrafanaStackSpec {
    GrafanaStackSpec {
        slug: slug.into(),
        name: None,
        url: None,
        region: Some("eu".into()),
        description: Some("team stack".into()),
        labels: BTreeMap::from([("team".into(), "a".into())]),
        deletion_policy: DeletionPolicy::Delete,
        delete_protection: true,
        plugins: vec![],
        remove_datasources: vec![],
        resync_interval: None,
        credentials: None,
    }
}

fn remote(labels: serde_json::Value) -> Stack {
    serde_json::from_value(json!({
        "id": 42, "slug": "acme", "name": "acme.grafana.net", "description": "team stack",
        "url": "https://acme.grafana.net", "status": "active", "orgSlug": "org",
        "regionSlug": "eu", "labels": labels,
        "hmInstancePromUrl": "https://prom.example", "hmInstancePromId": 7,
        "hlInstanceUrl": "", "hlInstanceId": 8
    }))
    .unwrap()
}

#[test]
fn create_request_defaults_the_name_and_adds_the_ownership_label() {
    let req = create_request(&spec("acme"), UID);
    assert_eq!(req.name, "acme.grafana.net");
    assert_eq!(req.slug, "acme");
    assert_eq!(req.region.as_deref(), Some("eu"));
    assert_eq!(req.labels.get(OWNER_LABEL).map(String::as_str), Some(UID));
    assert_eq!(req.labels.get("team").map(String::as_str), Some("a"));
}

#[test]
fn create_request_leaves_protection_off_until_the_stack_is_ready() {
    assert!(!create_request(&spec("acme"), UID).delete_protection);
}

#[test]
fn protection_drift_waits_for_readiness_and_reads_absent_as_off() {
    let unprotected = remote(json!({"team": "a", OWNER_LABEL: UID}));
    assert_eq!(unprotected.delete_protection, None);
    let spec = spec("acme");
    assert!(
        drift(&spec, UID, &unprotected, false).is_empty(),
        "not ready: protection is left alone"
    );
    assert_eq!(
        drift(&spec, UID, &unprotected, true).delete_protection,
        Some(true)
    );
    assert_eq!(
        protection_drift(&spec, &unprotected).delete_protection,
        Some(true)
    );
    let mut protected = unprotected.clone();
    protected.delete_protection = Some(true);
    assert!(drift(&spec, UID, &protected, true).is_empty());
    assert!(protection_drift(&spec, &protected).is_empty());
    let mut unguarded = spec.clone();
    unguarded.delete_protection = false;
    assert_eq!(
        drift(&unguarded, UID, &protected, true).delete_protection,
        Some(false),
        "protection turned on elsewhere is turned off again"
    );
}

#[test]
fn no_drift_when_remote_matches() {
    let remote = remote(json!({"team": "a", OWNER_LABEL: UID}));
    assert!(drift(&spec("acme"), UID, &remote, false).is_empty());
}

#[test]
fn drift_names_only_changed_fields() {
    let remote = remote(json!({"team": "b", OWNER_LABEL: UID}));
    let mut spec = spec("acme");
    spec.name = Some("Acme".into());
    let update = drift(&spec, UID, &remote, false);
    assert_eq!(update.name.as_deref(), Some("Acme"));
    assert_eq!(
        update.labels.unwrap().get("team").map(String::as_str),
        Some("a")
    );
    assert!(update.description.is_none());
    assert!(update.url.is_none());
}

#[test]
fn url_drift_only_when_spec_sets_a_custom_domain() {
    let remote = remote(json!({"team": "a", OWNER_LABEL: UID}));
    let mut spec = spec("acme");
    assert!(drift(&spec, UID, &remote, false).url.is_none());
    spec.url = Some("https://grafana.example.com".into());
    assert_eq!(
        drift(&spec, UID, &remote, false).url.as_deref(),
        Some("https://grafana.example.com")
    );
}

#[test]
fn removed_description_is_cleared() {
    let remote = remote(json!({"team": "a", OWNER_LABEL: UID}));
    let mut spec = spec("acme");
    spec.description = None;
    assert_eq!(
        drift(&spec, UID, &remote, false).description.as_deref(),
        Some("")
    );
}

#[test]
fn ownership_needs_the_label_or_the_adopt_annotation() {
    let ours = remote(json!({OWNER_LABEL: UID}));
    let other = remote(json!({OWNER_LABEL: "someone-else"}));
    let unlabeled = remote(json!({}));
    assert_eq!(ownership(&ours, UID, false), Ownership::Owned);
    assert_eq!(ownership(&other, UID, false), Ownership::Foreign);
    assert_eq!(ownership(&unlabeled, UID, false), Ownership::Foreign);
    assert_eq!(ownership(&unlabeled, UID, true), Ownership::Adoptable);
}

#[test]
fn adopt_annotation_must_say_true() {
    let ann = |v: &str| BTreeMap::from([(crd::ADOPT_ANNOTATION.to_string(), v.to_string())]);
    assert!(adopt_requested(&ann("true")));
    assert!(adopt_requested(&ann("True")));
    assert!(!adopt_requested(&ann("yes")));
    assert!(!adopt_requested(&BTreeMap::new()));
}

#[test]
fn restart_fires_once_per_value() {
    let ann = BTreeMap::from([(
        crd::RESTART_ANNOTATION.to_string(),
        "2026-11-27T10:00".to_string(),
    )]);
    let mut status = GrafanaStackStatus::default();
    assert_eq!(pending_restart(&ann, &status), Some("2026-11-27T10:00"));
    status.last_restart_request = Some("2026-11-27T10:00".into());
    assert_eq!(pending_restart(&ann, &status), None);
    assert_eq!(pending_restart(&BTreeMap::new(), &status), None);
}

#[test]
fn status_records_identity_and_present_endpoints_only() {
    let mut status = GrafanaStackStatus::default();
    record_remote(&mut status, &remote(json!({})));
    assert_eq!(status.id, Some(42));
    assert_eq!(status.org_slug.as_deref(), Some("org"));
    assert_eq!(status.cloud_status.as_deref(), Some("active"));
    let endpoints = status.endpoints.unwrap();
    assert_eq!(endpoints.prometheus.unwrap().user_id, Some(7));
    assert!(
        endpoints.loki.is_none(),
        "an empty URL means the stack has no such service"
    );
}

#[test]
fn datasources_are_relisted_only_when_needed() {
    let mut spec = spec("acme");
    let mut status = GrafanaStackStatus::default();
    assert!(datasources_stale(&spec, &status, false), "never listed yet");
    status.datasources = vec![DatasourceStatus {
        id: 1,
        name: "usage".into(),
        type_: "prometheus".into(),
    }];
    assert!(!datasources_stale(&spec, &status, false));
    assert!(datasources_stale(&spec, &status, true), "spec changed");
    spec.remove_datasources = vec!["usage".into()];
    assert!(
        datasources_stale(&spec, &status, false),
        "a data source awaits removal"
    );
}

#[test]
fn readiness_polling_backs_off_from_2s_to_30s() {
    assert_eq!(readiness_poll_delay(Duration::ZERO), Duration::from_secs(2));
    assert_eq!(
        readiness_poll_delay(Duration::from_secs(5)),
        Duration::from_secs(5)
    );
    assert_eq!(
        readiness_poll_delay(Duration::from_secs(600)),
        Duration::from_secs(30)
    );
}

#[test]
fn only_a_converged_managed_stack_reads_from_the_org_snapshot() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    let mut obj = GrafanaStack::new("main", spec("acme"));
    obj.metadata.generation = Some(2);
    let ready = Condition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: "Ready".into(),
        message: String::new(),
        observed_generation: Some(2),
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    };
    let converged = GrafanaStackStatus {
        conditions: vec![ready],
        observed_generation: Some(2),
        id: Some(42),
        org_slug: Some("org".into()),
        managed: true,
        ..GrafanaStackStatus::default()
    };
    assert_eq!(steady_state_org(&obj, &converged), Some("org"));

    let unmanaged = GrafanaStackStatus {
        managed: false,
        ..converged.clone()
    };
    assert_eq!(steady_state_org(&obj, &unmanaged), None);
    let stale = GrafanaStackStatus {
        observed_generation: Some(1),
        ..converged.clone()
    };
    assert_eq!(
        steady_state_org(&obj, &stale),
        None,
        "a spec change reads the stack itself"
    );
    let not_ready = GrafanaStackStatus {
        conditions: vec![],
        ..converged.clone()
    };
    assert_eq!(steady_state_org(&obj, &not_ready), None);
    obj.metadata.annotations = Some(BTreeMap::from([(
        crd::RESTART_ANNOTATION.to_string(),
        "now".to_string(),
    )]));
    assert_eq!(
        steady_state_org(&obj, &converged),
        None,
        "a pending restart reads the stack"
    );
}
