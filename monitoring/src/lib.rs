//! The operator's monitoring, generated from its metric names
//! ([`grafana_cloud_operator::metrics::names`]): a Grafana dashboard and Prometheus alert
//! rules, committed as files and shipped by the Helm chart. `cargo run -p monitoring` writes
//! them; a test fails when the committed files are stale.

pub mod dashboard;
pub mod rules;

use std::path::{Path, PathBuf};

/// Where the chart reads the dashboard from.
pub const DASHBOARD_PATH: &str =
    "charts/grafana-cloud-operator/monitoring/grafana-cloud-operator.json";
/// Where the chart reads the rules from: a plain Prometheus rules file.
pub const RULES_PATH: &str =
    "charts/grafana-cloud-operator/monitoring/grafana-cloud-operator.rules.yaml";
/// Copies for users who install from `deploy/`.
pub const DEPLOY_DASHBOARD_PATH: &str = "deploy/monitoring/grafana-cloud-operator.json";
pub const DEPLOY_RULES_PATH: &str = "deploy/monitoring/grafana-cloud-operator.rules.yaml";

/// Every generated file, by path from the repository root, with its content.
pub fn files() -> Vec<(&'static str, String)> {
    let dashboard = dashboard::json();
    let rules = rules::yaml();
    vec![
        (DASHBOARD_PATH, dashboard.clone()),
        (RULES_PATH, rules.clone()),
        (DEPLOY_DASHBOARD_PATH, dashboard),
        (DEPLOY_RULES_PATH, rules),
    ]
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The metric names an expression uses: every `grafana_cloud_operator_…` word, and `up`.
pub fn metrics_in(expr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = expr.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if word(bytes[i]) && (i == 0 || !word(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && word(bytes[i]) {
                i += 1;
            }
            let token = &expr[start..i];
            let next = bytes.get(i).copied();
            let is_up =
                token == "up" && matches!(next, Some(b'{') | Some(b' ') | Some(b')') | None);
            if token.starts_with("grafana_cloud_operator_") || is_up {
                found.push(token.to_owned());
            }
        } else {
            i += 1;
        }
    }
    found
}
