//! The shipped dashboard and alert rules name only metrics that a real operator exports:
//! after an end-to-end scenario (a Ready stack, a failing one, an access-policy token with
//! rotation), a scrape of the real binary's `/metrics` has every metric they use.

#![allow(clippy::unwrap_used)]

mod e2e;

use std::collections::BTreeSet;

use e2e::{Env, is_ready};
use grafana_cloud_operator::crd::{
    GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaStack,
};
use kube::{Api, api::PostParams};
use serde_json::json;

const SHIPPED: [&str; 2] = [
    "charts/grafana-cloud-operator/monitoring/grafana-cloud-operator.json",
    "charts/grafana-cloud-operator/monitoring/grafana-cloud-operator.rules.yaml",
];

/// Every `grafana_cloud_operator_…` name in the shipped files.
fn used_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for path in SHIPPED {
        let text = std::fs::read_to_string(e2e::repo().join(path)).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("grafana_cloud_operator_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    names
}

/// The sample names of a scrape.
fn scraped(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_metric_the_dashboard_and_rules_use_is_on_a_real_scrape() {
    let env = Env::start().await;
    let ns = env.namespace("watched").await;
    let stacks: Api<GrafanaStack> = env.api(&ns);
    let stack: GrafanaStack = e2e::resource("GrafanaStack", "main", json!({"slug": "watchedmain"}));
    stacks.create(&PostParams::default(), &stack).await.unwrap();
    let broken: GrafanaStack = e2e::resource(
        "GrafanaStack",
        "broken",
        json!({"slug": "watchedbroken", "credentials": {"secretName": "missing"}}),
    );
    stacks
        .create(&PostParams::default(), &broken)
        .await
        .unwrap();
    env.wait_for(&stacks, "main", "step 1: the stack is Ready", is_ready)
        .await;

    let policies: Api<GrafanaCloudAccessPolicy> = env.api(&ns);
    let policy: GrafanaCloudAccessPolicy = e2e::resource(
        "GrafanaCloudAccessPolicy",
        "writers",
        json!({"realms": [{"type": "stack", "stackRef": "main"}], "scopes": ["metrics:write"]}),
    );
    policies
        .create(&PostParams::default(), &policy)
        .await
        .unwrap();
    env.wait_for(
        &policies,
        "writers",
        "step 2: the policy is Ready",
        is_ready,
    )
    .await;
    let tokens: Api<GrafanaCloudAccessPolicyToken> = env.api(&ns);
    let token: GrafanaCloudAccessPolicyToken = e2e::resource(
        "GrafanaCloudAccessPolicyToken",
        "push",
        json!({"policyRef": "writers", "expiresAfter": "720h", "rotation": {"renewBefore": "168h"}}),
    );
    tokens.create(&PostParams::default(), &token).await.unwrap();
    env.wait_for(&tokens, "push", "step 2: the token is Ready", is_ready)
        .await;

    let text = env.scrape_metrics().await;
    let exported = scraped(&text);
    let used = used_metrics();
    assert!(
        used.len() >= 10,
        "step 3: the shipped files use the operator's metrics: {used:?}"
    );
    let missing: Vec<&String> = used.iter().filter(|m| !exported.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "step 3: the dashboard or rules use metrics the scrape lacks: {missing:?}\nscrape:\n{text}"
    );
    assert!(
        !text.contains(e2e::ORG_TOKEN),
        "step 3: no token on /metrics"
    );
}
