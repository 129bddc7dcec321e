//! The chart's monitoring objects: off by default; on, a ConfigMap for Grafana's dashboard
//! sidecar holding the generated dashboard, and a PrometheusRule holding the generated rules
//! with the operator-down alert pointed at the chart's own scrape job.

use serde_json::Value;

use super::support::{all_of, name, namespace, one_of, render, root};

fn committed(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

#[test]
fn monitoring_objects_are_off_by_default() {
    let docs = render(None, &[]);
    assert!(all_of(&docs, "PrometheusRule").is_empty());
    assert!(
        all_of(&docs, "ConfigMap").is_empty(),
        "no dashboard ConfigMap by default"
    );
}

#[test]
fn the_dashboard_configmap_carries_the_generated_dashboard_for_the_sidecar() {
    let docs = render(Some("ci/monitoring-values.yaml"), &[]);
    let map = one_of(&docs, "ConfigMap");
    assert_eq!(
        map["metadata"]["labels"]["grafana_dashboard"].as_str(),
        Some("1"),
        "the label Grafana's sidecar watches"
    );
    assert_eq!(namespace(map), "grafana", "grafanaDashboard.namespace");
    assert_eq!(
        map["metadata"]["annotations"]["grafana_folder"].as_str(),
        Some("Operators")
    );
    let shipped: Value =
        serde_json::from_str(map["data"]["grafana-cloud-operator.json"].as_str().unwrap())
            .expect("the ConfigMap holds dashboard JSON");
    let generated: Value = serde_json::from_str(&committed(
        "charts/grafana-cloud-operator/monitoring/grafana-cloud-operator.json",
    ))
    .unwrap();
    assert_eq!(
        shipped, generated,
        "the ConfigMap holds the generated dashboard"
    );
    assert!(shipped["panels"].as_array().is_some_and(|p| p.len() >= 8));

    let relabelled = render(
        None,
        &[
            "grafanaDashboard.enabled=true",
            "grafanaDashboard.labels.team=sre",
        ],
    );
    let labels = &one_of(&relabelled, "ConfigMap")["metadata"]["labels"];
    assert_eq!(
        labels["team"].as_str(),
        Some("sre"),
        "the sidecar label is configurable"
    );
}

#[test]
fn the_prometheus_rule_holds_the_generated_rules_for_the_charts_job() {
    let docs = render(Some("ci/monitoring-values.yaml"), &[]);
    let rule = one_of(&docs, "PrometheusRule");
    assert_eq!(
        rule["apiVersion"].as_str(),
        Some("monitoring.coreos.com/v1")
    );
    assert_eq!(
        rule["metadata"]["labels"]["release"].as_str(),
        Some("prometheus")
    );
    let file: serde_json::Value = serde_saphyr::from_str(&committed(
        "charts/grafana-cloud-operator/monitoring/grafana-cloud-operator.rules.yaml",
    ))
    .unwrap();
    let service = all_of(&docs, "Service")
        .into_iter()
        .map(name)
        .find(|n| n.ends_with("-metrics"))
        .expect("a metrics Service");
    let job = format!("job=\"{service}\"");
    let shipped =
        serde_json::to_string(&serde_json::to_value(&rule["spec"]["groups"]).unwrap()).unwrap();
    let expected = serde_json::to_string(&file["groups"]).unwrap().replace(
        "job=\\\"grafana-cloud-operator\\\"",
        &job.replace('"', "\\\""),
    );
    assert_eq!(
        shipped, expected,
        "the generated rules, with the chart's job"
    );
    assert!(
        shipped.contains(&job.replace('"', "\\\"")),
        "the operator-down alert watches {job}"
    );
    for alert in rule["spec"]["groups"][0]["rules"].as_array().unwrap() {
        for annotation in ["summary", "description", "runbook_url"] {
            assert!(
                alert["annotations"][annotation]
                    .as_str()
                    .is_some_and(|a| !a.is_empty()),
                "{:?} lacks {annotation}",
                alert["alert"]
            );
        }
    }
}
