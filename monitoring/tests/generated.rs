//! The generated dashboard and rules: committed and fresh, naming only metrics the operator
//! registers, valid PromQL for promtool, and each alert unit-tested with `promtool test rules`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use grafana_cloud_operator::metrics::Metrics;
use monitoring::{dashboard, metrics_in, rules};
use serde_json::{Value, json};

#[test]
fn committed_files_match_the_generator() {
    for (path, content) in monitoring::files() {
        let committed = std::fs::read_to_string(monitoring::repo().join(path))
            .unwrap_or_else(|e| panic!("{path} is not committed ({e}); run `make generate`"));
        assert!(committed == content, "{path} is stale; run `make generate`");
    }
}

/// The sample names the operator's registry shows once every family has a series.
fn registered() -> BTreeSet<String> {
    use grafana_cloud_operator::grafana::RequestObserver;
    let metrics = Metrics::default();
    let second = std::time::Duration::from_secs(1);
    metrics.reconciled("GrafanaStack", second, Some("unauthorized"));
    metrics.set_ready("GrafanaStack", "uid", true);
    let at = Some("2030-01-01T00:00:00Z");
    metrics.set_key_times("GrafanaCloudApiKey", "ns", "name", at, at);
    metrics.observe("/instances", "GET", Some(200), second);
    metrics.budget_waited(second);
    let text = metrics.encode().unwrap();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("#") || parts.next() != Some("TYPE") {
            continue;
        }
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
            continue;
        };
        match kind {
            "counter" => {
                names.insert(format!("{name}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

fn all_exprs() -> Vec<String> {
    let mut exprs = dashboard::exprs();
    exprs.extend(rules::alerts().into_iter().map(|a| a.expr));
    exprs
}

#[test]
fn every_metric_used_is_one_the_operator_registers() {
    let registered = registered();
    assert!(
        registered.len() >= 10,
        "the registry lists its metrics: {registered:?}"
    );
    for expr in all_exprs() {
        let used = metrics_in(&expr);
        assert!(!used.is_empty(), "no metric found in {expr}");
        for name in used.iter().filter(|n| *n != "up") {
            assert!(
                registered.contains(name),
                "{name} (in `{expr}`) is not exported"
            );
        }
    }
}

#[test]
fn the_dashboard_covers_what_operators_watch() {
    let board = dashboard::dashboard();
    let titles: Vec<&str> = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for wanted in [
        "Leader",
        "Ready resources per kind",
        "Reconcile failures per kind and category",
        "Reconcile latency",
        "grafana.com requests by endpoint and status",
        "grafana.com latency",
        "Waiting for the request budget",
        "Keys and tokens by time to expiry",
    ] {
        assert!(titles.contains(&wanted), "no {wanted} panel: {titles:?}");
    }
    let ids: BTreeSet<u64> = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), titles.len(), "panel ids are unique");
}

fn promtool() -> PathBuf {
    let dir = std::env::var_os("GCO_TOOLS_BIN").map_or_else(
        || {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/grafana-cloud-operator/tools/bin")
        },
        PathBuf::from,
    );
    let promtool = dir.join("promtool");
    assert!(
        promtool.exists(),
        "{} is missing: run hack/install-tools.sh",
        promtool.display()
    );
    promtool
}

fn promtool_ok(args: &[&str]) -> String {
    let output = Command::new(promtool()).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gco-monitoring-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn promtool_accepts_the_rules_and_every_dashboard_query() {
    let rules = monitoring::repo().join(monitoring::RULES_PATH);
    let checked = promtool_ok(&["check", "rules", rules.to_str().unwrap()]);
    assert!(
        checked.contains(&format!("{} rules found", rules::alerts().len())),
        "{checked}"
    );

    // The dashboard's queries as recording rules, with Grafana's variables filled in.
    let records: Vec<Value> = dashboard::exprs()
        .iter()
        .enumerate()
        .map(|(i, expr)| {
            let expr = expr.replace("$__rate_interval", "5m").replace("$job", ".+");
            json!({"record": format!("dashboard:query{i}"), "expr": expr})
        })
        .collect();
    let file = scratch("dashboard-queries.yaml");
    let body = json!({"groups": [{"name": "dashboard", "rules": records}]});
    std::fs::write(&file, serde_saphyr::to_string(&body).unwrap()).unwrap();
    promtool_ok(&["check", "rules", file.to_str().unwrap()]);
}

/// Labels every series of the tests carries.
const TARGET: &str = r#"instance="operator-0:8080", job="grafana-cloud-operator""#;

fn series(name: &str, labels: &str, values: &str) -> Value {
    let labels = if labels.is_empty() {
        TARGET.to_owned()
    } else {
        format!("{labels}, {TARGET}")
    };
    json!({"series": format!("{name}{{{labels}}}"), "values": values})
}

/// The alert as promtool should see it firing with `labels`.
fn firing(alert: &str, labels: &[(&str, &str)]) -> Value {
    let rule = rules::alerts()
        .into_iter()
        .find(|a| a.name == alert)
        .unwrap();
    let fill = |text: &str| {
        labels.iter().fold(text.to_owned(), |t, (k, v)| {
            t.replace(&format!("{{{{ $labels.{k} }}}}"), v)
        })
    };
    let mut exp_labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    exp_labels.insert("severity".into(), json!(rule.severity));
    json!({
        "exp_labels": exp_labels,
        "exp_annotations": {
            "summary": fill(rule.summary),
            "description": fill(rule.description),
            "runbook_url": rule.runbook_url(),
        },
    })
}

/// One promtool test: input series, then at `at` the alert fires as `expected` (or not at all).
fn case(alert: &str, input: Vec<Value>, at: &str, expected: Option<Value>) -> Value {
    json!({
        "interval": "1m",
        "input_series": input,
        "alert_rule_test": [{
            "eval_time": at,
            "alertname": alert,
            "exp_alerts": expected.into_iter().collect::<Vec<_>>(),
        }],
    })
}

fn cases() -> Vec<Value> {
    use grafana_cloud_operator::metrics::names::*;
    let stack = r#"kind="GrafanaStack""#;
    let failure = r#"kind="GrafanaStack", category="unauthorized""#;
    let key = r#"kind="GrafanaCloudAccessPolicyToken", namespace="team-a", name="push""#;
    let key_labels = [
        ("kind", "GrafanaCloudAccessPolicyToken"),
        ("namespace", "team-a"),
        ("name", "push"),
    ];
    let standby = r#"instance="operator-1:8080", job="grafana-cloud-operator""#;
    let requests = |status: &str, values: &str| {
        series(
            GRAFANA_REQUESTS_TOTAL,
            &format!(r#"endpoint="/instances/{{slug}}", method="GET", status="{status}""#),
            values,
        )
    };
    vec![
        case(
            "GrafanaCloudOperatorReconcileFailing",
            vec![series(RECONCILE_FAILURES_TOTAL, failure, "0+1x60")],
            "45m",
            Some(firing(
                "GrafanaCloudOperatorReconcileFailing",
                &[("kind", "GrafanaStack"), ("category", "unauthorized")],
            )),
        ),
        case(
            "GrafanaCloudOperatorReconcileFailing",
            vec![series(RECONCILE_FAILURES_TOTAL, failure, "0+1x10 10x50")],
            "45m",
            None,
        ),
        case(
            "GrafanaCloudOperatorResourcesNotReady",
            vec![
                series(RESOURCES, stack, "3x90"),
                series(READY_RESOURCES, stack, "2x90"),
                series(LEADER, "", "1x90"),
            ],
            "70m",
            Some(firing(
                "GrafanaCloudOperatorResourcesNotReady",
                &[("kind", "GrafanaStack")],
            )),
        ),
        // A standby's stale gauges do not count; the leader's Ready ones do.
        case(
            "GrafanaCloudOperatorResourcesNotReady",
            vec![
                series(RESOURCES, stack, "3x90"),
                series(READY_RESOURCES, stack, "3x90"),
                series(LEADER, "", "1x90"),
                json!({"series": format!("{RESOURCES}{{{stack}, {standby}}}"), "values": "5x90"}),
                json!({"series": format!("{READY_RESOURCES}{{{stack}, {standby}}}"), "values": "0x90"}),
                json!({"series": format!("{LEADER}{{{standby}}}"), "values": "0x90"}),
            ],
            "70m",
            None,
        ),
        case(
            "GrafanaCloudOperatorKeyExpiringWithoutRotation",
            vec![series(KEY_EXPIRY_TIMESTAMP_SECONDS, key, "259200x60")],
            "20m",
            Some(firing(
                "GrafanaCloudOperatorKeyExpiringWithoutRotation",
                &key_labels,
            )),
        ),
        case(
            "GrafanaCloudOperatorKeyExpiringWithoutRotation",
            vec![
                series(KEY_EXPIRY_TIMESTAMP_SECONDS, key, "259200x60"),
                series(KEY_RENEW_TIMESTAMP_SECONDS, key, "100000x60"),
            ],
            "20m",
            None,
        ),
        case(
            "GrafanaCloudOperatorKeyRotationOverdue",
            vec![series(KEY_RENEW_TIMESTAMP_SECONDS, key, "600x120")],
            "90m",
            Some(firing(
                "GrafanaCloudOperatorKeyRotationOverdue",
                &key_labels,
            )),
        ),
        case(
            "GrafanaCloudOperatorKeyRotationOverdue",
            vec![series(KEY_RENEW_TIMESTAMP_SECONDS, key, "600x30 100000x90")],
            "90m",
            None,
        ),
        case(
            "GrafanaCloudOperatorNoLeader",
            vec![series(LEADER, "", "0x20")],
            "10m",
            Some(firing("GrafanaCloudOperatorNoLeader", &[])),
        ),
        case(
            "GrafanaCloudOperatorNoLeader",
            vec![
                series(LEADER, "", "1x20"),
                json!({"series": format!("{LEADER}{{{standby}}}"), "values": "0x20"}),
            ],
            "10m",
            None,
        ),
        case(
            "GrafanaCloudOperatorGrafanaComRateLimited",
            vec![requests("429", "0+5x60"), requests("200", "0+10x60")],
            "30m",
            Some(firing("GrafanaCloudOperatorGrafanaComRateLimited", &[])),
        ),
        case(
            "GrafanaCloudOperatorGrafanaComRateLimited",
            vec![requests("429", "0+1x60"), requests("200", "0+100x60")],
            "30m",
            None,
        ),
        case(
            "GrafanaCloudOperatorGrafanaComErrors",
            vec![
                requests("503", "0+3x60"),
                requests("none", "0+2x60"),
                requests("200", "0+10x60"),
            ],
            "30m",
            Some(firing("GrafanaCloudOperatorGrafanaComErrors", &[])),
        ),
        case(
            "GrafanaCloudOperatorGrafanaComErrors",
            vec![requests("503", "0+1x60"), requests("200", "0+100x60")],
            "30m",
            None,
        ),
        case(
            "GrafanaCloudOperatorDown",
            vec![json!({"series": format!("up{{{TARGET}}}"), "values": "0x30"})],
            "20m",
            Some(firing("GrafanaCloudOperatorDown", &[])),
        ),
        case(
            "GrafanaCloudOperatorDown",
            vec![json!({"series": format!("up{{{TARGET}}}"), "values": "1x30"})],
            "20m",
            None,
        ),
    ]
}

#[test]
fn promtool_unit_tests_fire_and_stay_quiet_for_every_alert() {
    let cases = cases();
    let tested: BTreeSet<&str> = cases
        .iter()
        .filter(|c| {
            !c["alert_rule_test"][0]["exp_alerts"]
                .as_array()
                .unwrap()
                .is_empty()
        })
        .map(|c| c["alert_rule_test"][0]["alertname"].as_str().unwrap())
        .collect();
    for alert in rules::alerts() {
        assert!(
            tested.contains(alert.name),
            "{} has no firing test",
            alert.name
        );
    }
    let rules = monitoring::repo().join(monitoring::RULES_PATH);
    let file = scratch("alerts.test.yaml");
    let body = json!({
        "rule_files": [rules.to_str().unwrap()],
        "evaluation_interval": "1m",
        "tests": cases,
    });
    std::fs::write(&file, serde_saphyr::to_string(&body).unwrap()).unwrap();
    let out = promtool_ok(&["test", "rules", file.to_str().unwrap()]);
    assert!(out.contains("SUCCESS"), "{out}");
}
