//! The Grafana dashboard: reconciles, failures and latency per kind, grafana.com requests and
//! their latency, the request budget's waits, Ready resources, keys and tokens by time to
//! expiry, and which replica leads.

use grafana_cloud_operator::metrics::names::{
    GRAFANA_BUDGET_WAIT_SECONDS, GRAFANA_REQUEST_DURATION_SECONDS, GRAFANA_REQUESTS_TOTAL,
    KEY_EXPIRY_TIMESTAMP_SECONDS, KEY_RENEW_TIMESTAMP_SECONDS, LEADER, READY_RESOURCES,
    RECONCILE_DURATION_SECONDS, RECONCILE_FAILURES_TOTAL, RECONCILES_TOTAL, RESOURCES,
};
use serde_json::{Value, json};

pub const UID: &str = "grafana-cloud-operator";
const RATE: &str = "$__rate_interval";

/// `name{job=~"$job"}`: every query follows the dashboard's job variable.
fn m(name: &str) -> String {
    format!("{name}{{job=~\"$job\"}}")
}

fn bucket(name: &str) -> String {
    m(&format!("{name}_bucket"))
}

/// A query and its legend.
struct Query {
    expr: String,
    legend: String,
}

fn q(expr: String, legend: &str) -> Query {
    Query {
        expr,
        legend: legend.to_owned(),
    }
}

/// What a panel shows.
struct Panel {
    kind: &'static str,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    queries: Vec<Query>,
    width: u32,
    /// `table` panels show the latest value per series.
    instant: bool,
}

fn panel(
    kind: &'static str,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    width: u32,
    queries: Vec<Query>,
) -> Panel {
    Panel {
        kind,
        title,
        description,
        unit,
        queries,
        width,
        instant: kind == "table",
    }
}

/// p50, p90 and p99 of a histogram, per `by` (labels, comma-separated).
fn quantiles(metric: &str, by: &str) -> Vec<Query> {
    let legend: String = by
        .split(", ")
        .map(|label| format!("{{{{{label}}}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    ["0.5", "0.9", "0.99"]
        .into_iter()
        .map(|quantile| {
            let percentile = quantile.trim_start_matches("0.");
            let percentile = if percentile.len() == 1 {
                format!("{percentile}0")
            } else {
                percentile.to_owned()
            };
            Query {
                expr: format!(
                    "histogram_quantile({quantile}, sum by (le, {by}) (rate({}[{RATE}])))",
                    bucket(metric)
                ),
                legend: format!("p{percentile} {legend}"),
            }
        })
        .collect()
}

/// The panels, in reading order.
fn panels() -> Vec<Panel> {
    vec![
        panel(
            "table",
            "Leader",
            "1 for the replica that holds the lease and runs the controllers.",
            "none",
            8,
            vec![q(
                format!("max by (instance) ({})", m(LEADER)),
                "{{instance}}",
            )],
        ),
        panel(
            "bargauge",
            "Ready resources per kind",
            "Ready resources against all resources the leader reconciles, per kind.",
            "none",
            16,
            vec![
                q(
                    format!(
                        "max by (kind) ({} * on (instance) group_left () ({} == 1))",
                        m(READY_RESOURCES),
                        m(LEADER)
                    ),
                    "Ready {{kind}}",
                ),
                q(
                    format!(
                        "max by (kind) ({} * on (instance) group_left () ({} == 1))",
                        m(RESOURCES),
                        m(LEADER)
                    ),
                    "All {{kind}}",
                ),
            ],
        ),
        panel(
            "timeseries",
            "Reconciles per kind",
            "Reconcile passes per second.",
            "ops",
            12,
            vec![q(
                format!("sum by (kind) (rate({}[{RATE}]))", m(RECONCILES_TOTAL)),
                "{{kind}}",
            )],
        ),
        panel(
            "timeseries",
            "Reconcile failures per kind and category",
            "Failed passes per second, by error category (unauthorized, rate_limited, server_error, invalid_spec, …).",
            "ops",
            12,
            vec![q(
                format!(
                    "sum by (kind, category) (rate({}[{RATE}]))",
                    m(RECONCILE_FAILURES_TOTAL)
                ),
                "{{kind}} {{category}}",
            )],
        ),
        panel(
            "timeseries",
            "Reconcile latency",
            "Quantiles of the time one reconcile pass takes, per kind.",
            "s",
            24,
            quantiles(RECONCILE_DURATION_SECONDS, "kind"),
        ),
        panel(
            "timeseries",
            "grafana.com requests by endpoint and status",
            "Requests per second, retries included; status none means no answer arrived.",
            "reqps",
            12,
            vec![q(
                format!(
                    "sum by (method, endpoint, status) (rate({}[{RATE}]))",
                    m(GRAFANA_REQUESTS_TOTAL)
                ),
                "{{method}} {{endpoint}} {{status}}",
            )],
        ),
        panel(
            "timeseries",
            "grafana.com latency",
            "Quantiles of grafana.com request latency, per endpoint.",
            "s",
            12,
            quantiles(GRAFANA_REQUEST_DURATION_SECONDS, "method, endpoint"),
        ),
        panel(
            "timeseries",
            "Waiting for the request budget",
            "Seconds per second that requests spent waiting for their organisation's request budget (--api-rate-limit, --api-burst), and the p90 wait of one request.",
            "s",
            12,
            vec![
                q(
                    format!(
                        "sum(rate({}[{RATE}]))",
                        m(&format!("{GRAFANA_BUDGET_WAIT_SECONDS}_sum"))
                    ),
                    "waited per second",
                ),
                q(
                    format!(
                        "histogram_quantile(0.9, sum by (le) (rate({}[{RATE}])))",
                        bucket(GRAFANA_BUDGET_WAIT_SECONDS)
                    ),
                    "p90 wait",
                ),
            ],
        ),
        panel(
            "table",
            "Keys and tokens by time to expiry",
            "Time left until each key or token expires, soonest first, and until its rotation where one is set.",
            "s",
            12,
            vec![
                q(
                    format!(
                        "sort(min by (kind, namespace, name) ({}) - time())",
                        m(KEY_EXPIRY_TIMESTAMP_SECONDS)
                    ),
                    "expires in",
                ),
                q(
                    format!(
                        "min by (kind, namespace, name) ({}) - time()",
                        m(KEY_RENEW_TIMESTAMP_SECONDS)
                    ),
                    "rotates in",
                ),
            ],
        ),
    ]
}

fn datasource() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

fn render(panels: Vec<Panel>) -> Vec<Value> {
    let (mut x, mut y) = (0, 0);
    let height = 8;
    panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            if x + p.width > 24 {
                x = 0;
                y += height;
            }
            let grid = json!({"h": height, "w": p.width, "x": x, "y": y});
            x += p.width;
            let targets: Vec<Value> = p
                .queries
                .iter()
                .zip('A'..='Z')
                .map(|(query, ref_id)| {
                    json!({
                        "refId": ref_id.to_string(),
                        "datasource": datasource(),
                        "expr": query.expr,
                        "legendFormat": query.legend,
                        "instant": p.instant,
                        "range": !p.instant,
                        "format": if p.instant { "table" } else { "time_series" },
                    })
                })
                .collect();
            json!({
                "id": i + 1,
                "type": p.kind,
                "title": p.title,
                "description": p.description,
                "datasource": datasource(),
                "gridPos": grid,
                "targets": targets,
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": {},
            })
        })
        .collect()
}

/// The dashboard.
pub fn dashboard() -> Value {
    json!({
        "uid": UID,
        "title": "grafana-cloud-operator",
        "description": "Reconciles, grafana.com requests, readiness, key expiry and leadership of grafana-cloud-operator. Generated by `cargo run -p monitoring`.",
        "tags": ["grafana-cloud-operator", "kubernetes"],
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "graphTooltip": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "annotations": {"list": []},
        "templating": {"list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {},
                "hide": 0,
            },
            {
                "name": "job",
                "label": "Job",
                "type": "query",
                "datasource": datasource(),
                "query": {"query": format!("label_values({LEADER}, job)"), "refId": "job"},
                "definition": format!("label_values({LEADER}, job)"),
                "includeAll": true,
                "multi": true,
                "allValue": ".+",
                "current": {},
                "refresh": 2,
                "hide": 0,
            },
        ]},
        "panels": render(panels()),
    })
}

/// Every query of the dashboard.
pub fn exprs() -> Vec<String> {
    panels()
        .into_iter()
        .flat_map(|p| p.queries.into_iter().map(|q| q.expr))
        .collect()
}

/// The dashboard file's content.
pub fn json() -> String {
    let mut text = serde_json::to_string_pretty(&dashboard()).unwrap_or_default();
    text.push('\n');
    text
}
