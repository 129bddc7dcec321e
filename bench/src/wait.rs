//! Waiting for convergence and for deletions, by polling kube-apiserver.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use grafana_cloud_operator::crd::{GrafanaCloudApiKey, GrafanaStack};
use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Condition};
use kube::{Api, Client, api::ListParams};

use crate::{
    BoxError,
    workload::{Item, namespace},
};

pub fn ready(conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// How far the set is from converged: resources not yet Ready, and keys whose Secret has no
/// `token` yet. The Secrets are only read once every key reports Ready.
pub async fn pending(
    client: &Client,
    items: &[Item],
    orgs: usize,
) -> Result<(usize, usize), BoxError> {
    let lp = ListParams::default();
    let mut ready_set: HashSet<(bool, String, String)> = HashSet::new();
    for s in Api::<GrafanaStack>::all(client.clone())
        .list(&lp)
        .await?
        .items
    {
        if s.status.as_ref().is_some_and(|st| ready(&st.conditions)) {
            ready_set.insert((
                true,
                s.metadata.namespace.unwrap_or_default(),
                s.metadata.name.unwrap_or_default(),
            ));
        }
    }
    for k in Api::<GrafanaCloudApiKey>::all(client.clone())
        .list(&lp)
        .await?
        .items
    {
        if k.status.as_ref().is_some_and(|st| ready(&st.conditions)) {
            ready_set.insert((
                false,
                k.metadata.namespace.unwrap_or_default(),
                k.metadata.name.unwrap_or_default(),
            ));
        }
    }
    let not_ready = items
        .iter()
        .filter(|i| !ready_set.contains(&(i.stack, i.ns.clone(), i.name.clone())))
        .count();
    let keys: Vec<&Item> = items.iter().filter(|i| !i.stack).collect();
    if not_ready > 0 {
        return Ok((not_ready, keys.len()));
    }
    let mut with_token: HashSet<(String, String)> = HashSet::new();
    for i in 0..orgs {
        let ns = namespace(i);
        for s in Api::<Secret>::namespaced(client.clone(), &ns)
            .list(&lp)
            .await?
            .items
        {
            if s.data
                .as_ref()
                .is_some_and(|d| d.get("token").is_some_and(|t| !t.0.is_empty()))
            {
                with_token.insert((ns.clone(), s.metadata.name.unwrap_or_default()));
            }
        }
    }
    let missing = keys
        .iter()
        .filter(|k| !with_token.contains(&(k.ns.clone(), k.name.clone())))
        .count();
    Ok((0, missing))
}

/// Polls until every item is Ready with its Secret populated; returns the elapsed time since
/// `since`. Fails after `timeout`, saying how many are still pending.
pub async fn wait_converged(
    client: &Client,
    items: &[Item],
    orgs: usize,
    since: Instant,
    timeout: Duration,
) -> Result<Duration, BoxError> {
    loop {
        let (not_ready, missing) = pending(client, items, orgs).await?;
        if not_ready == 0 && missing == 0 {
            return Ok(since.elapsed());
        }
        if since.elapsed() > timeout {
            return Err(format!(
                "not converged after {}s: {not_ready} not Ready, {missing} Secrets without a token",
                timeout.as_secs()
            )
            .into());
        }
        tokio::time::sleep(poll_interval(items.len())).await;
    }
}

/// How long to wait between two looks at `items` resources. Each look lists every resource
/// with its status: at 11,000 resources, a look every 500 ms kept kube-apiserver and the
/// benchmark busy on the 2 cores that the operator needs. The wait grows with the work, so
/// that polling costs about the same share at every size; the measured time is accurate to
/// one interval.
pub fn poll_interval(items: usize) -> Duration {
    Duration::from_micros(items as u64 * 500)
        .clamp(Duration::from_millis(500), Duration::from_secs(5))
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
