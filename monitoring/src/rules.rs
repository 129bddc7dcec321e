//! The alert rules: each with a summary, a description and a runbook in the README.

use grafana_cloud_operator::metrics::names::{
    GRAFANA_REQUESTS_TOTAL, KEY_EXPIRY_TIMESTAMP_SECONDS, KEY_RENEW_TIMESTAMP_SECONDS, LEADER,
    READY_RESOURCES, RECONCILE_FAILURES_TOTAL, RESOURCES,
};
use serde_json::{Value, json};

/// The scrape job the operator-down alert looks for. The chart replaces it with its metrics
/// Service's name, which prometheus-operator uses as the job.
pub const JOB: &str = "grafana-cloud-operator";
/// Where the runbooks are.
pub const RUNBOOKS: &str =
    "https://github.com/grafana-cloud-operator/grafana-cloud-operator/blob/main/README.md";

/// One alert rule.
pub struct Alert {
    pub name: &'static str,
    pub expr: String,
    pub for_: &'static str,
    pub severity: &'static str,
    /// May use `{{ $labels.x }}` for the labels the expression keeps.
    pub summary: &'static str,
    pub description: &'static str,
}

impl Alert {
    /// The README section that says what to do.
    pub fn runbook_url(&self) -> String {
        format!("{RUNBOOKS}#{}", self.name.to_ascii_lowercase())
    }
}

pub fn alerts() -> Vec<Alert> {
    let requests = GRAFANA_REQUESTS_TOTAL;
    let ratio = |status: &str| {
        format!(
            "sum(rate({requests}{{status=~\"{status}\"}}[10m])) / sum(rate({requests}[10m])) > 0.1"
        )
    };
    vec![
        Alert {
            name: "GrafanaCloudOperatorReconcileFailing",
            expr: format!(
                "sum by (kind, category) (increase({RECONCILE_FAILURES_TOTAL}[15m])) > 0"
            ),
            for_: "30m",
            severity: "warning",
            summary: "{{ $labels.kind }} reconciles keep failing ({{ $labels.category }})",
            description: "Reconciles of {{ $labels.kind }} resources have failed with category \
                {{ $labels.category }} for 30 minutes. The Ready condition of the failing \
                resources says why.",
        },
        Alert {
            name: "GrafanaCloudOperatorResourcesNotReady",
            expr: format!(
                "max by (kind) (({RESOURCES} - {READY_RESOURCES}) * on (instance) group_left () \
                 ({LEADER} == 1)) > 0"
            ),
            for_: "1h",
            severity: "warning",
            summary: "{{ $labels.kind }} resources have not been Ready for an hour",
            description: "Some {{ $labels.kind }} resources have stayed not Ready for an hour. \
                Their Ready condition's reason and message say what they wait for.",
        },
        Alert {
            name: "GrafanaCloudOperatorKeyExpiringWithoutRotation",
            expr: format!(
                "(min by (kind, namespace, name) ({KEY_EXPIRY_TIMESTAMP_SECONDS}) - time() < 7 * 86400) \
                 unless on (kind, namespace, name) {KEY_RENEW_TIMESTAMP_SECONDS}"
            ),
            for_: "15m",
            severity: "warning",
            summary: "{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} expires within a week and has no rotation",
            description: "The key or token of {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} \
                expires within 7 days, and the resource has no rotation: whatever uses its Secret \
                stops working then.",
        },
        Alert {
            name: "GrafanaCloudOperatorKeyRotationOverdue",
            expr: format!(
                "time() - max by (kind, namespace, name) ({KEY_RENEW_TIMESTAMP_SECONDS}) > 3600"
            ),
            for_: "15m",
            severity: "warning",
            summary: "{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} was due for rotation over an hour ago",
            description: "The operator should have replaced the key or token of {{ $labels.kind }} \
                {{ $labels.namespace }}/{{ $labels.name }} more than an hour ago, and has not: \
                the current one keeps ageing towards its expiry.",
        },
        Alert {
            name: "GrafanaCloudOperatorNoLeader",
            expr: format!("max({LEADER}) < 1"),
            for_: "5m",
            severity: "critical",
            summary: "No grafana-cloud-operator replica leads",
            description: "Operator replicas are running, but none has held the leader lease for \
                5 minutes, so no resource is reconciled.",
        },
        Alert {
            name: "GrafanaCloudOperatorGrafanaComRateLimited",
            expr: ratio("429"),
            for_: "15m",
            severity: "warning",
            summary: "grafana.com rate-limits over 10% of the operator's requests",
            description: "For 15 minutes, more than 10% of the operator's requests to grafana.com \
                were answered 429. Resources converge late until the limit lifts.",
        },
        Alert {
            name: "GrafanaCloudOperatorGrafanaComErrors",
            expr: ratio("5..|none"),
            for_: "15m",
            severity: "warning",
            summary: "Over 10% of the operator's grafana.com requests fail with 5xx or no answer",
            description: "For 15 minutes, more than 10% of the operator's requests to grafana.com \
                got a 5xx answer or none at all (a timeout or a network error).",
        },
        Alert {
            name: "GrafanaCloudOperatorDown",
            expr: format!("absent(up{{job=\"{JOB}\"}} == 1)"),
            for_: "10m",
            severity: "critical",
            summary: "grafana-cloud-operator is down",
            description: "No grafana-cloud-operator replica has been scraped successfully for 10 \
                minutes: stacks, keys and tokens are not reconciled, and rotations do not happen.",
        },
    ]
}

/// The rules as a Prometheus rules file's groups.
pub fn groups() -> Value {
    let rules: Vec<Value> = alerts()
        .iter()
        .map(|a| {
            json!({
                "alert": a.name,
                "expr": a.expr,
                "for": a.for_,
                "labels": {"severity": a.severity},
                "annotations": {
                    "summary": a.summary,
                    "description": a.description,
                    "runbook_url": a.runbook_url(),
                },
            })
        })
        .collect();
    json!([{"name": "grafana-cloud-operator", "rules": rules}])
}

/// The plain rules file.
pub fn yaml() -> String {
    let body =
        grafana_cloud_operator::yaml::to_string(&json!({"groups": groups()})).unwrap_or_default();
    format!(
        "# Alert rules for grafana-cloud-operator. Generated by `cargo run -p monitoring`; do not edit.\n\
         # GrafanaCloudOperatorDown looks for up{{job=\"{JOB}\"}}: change the job to your scrape job's.\n{body}"
    )
}
