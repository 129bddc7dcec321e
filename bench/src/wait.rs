//! Waiting for deletions, by polling kube-apiserver, and what Ready means for the benchmark.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Client, api::ListParams};

use crate::{BoxError, workload::Item};

pub fn ready(conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Polls until none of the items exists any more (their finalizers ran).
pub async fn wait_gone(
    client: &Client,
    items: &[Item],
    since: Instant,
    timeout: Duration,
) -> Result<Duration, BoxError> {
    let lp = ListParams::default();
    loop {
        let mut present: HashSet<(bool, String, String)> = HashSet::new();
        for s in Api::<GrafanaStack>::all(client.clone())
            .list_metadata(&lp)
            .await?
            .items
        {
            present.insert((
                true,
                s.metadata.namespace.unwrap_or_default(),
                s.metadata.name.unwrap_or_default(),
            ));
        }
        for k in Api::<GrafanaCloudApiKey>::all(client.clone())
            .list_metadata(&lp)
            .await?
            .items
        {
            present.insert((
                false,
                k.metadata.namespace.unwrap_or_default(),
                k.metadata.name.unwrap_or_default(),
            ));
        }
        let left = items
            .iter()
            .filter(|i| present.contains(&(i.stack, i.ns.clone(), i.name.clone())))
            .count();
        if left == 0 {
            return Ok(since.elapsed());
        }
        if since.elapsed() > timeout {
            return Err(format!(
                "{left} deleted resources still present after {}s",
                timeout.as_secs()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
