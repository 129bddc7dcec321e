//! The objects the benchmark applies: per-org namespaces with credentials, org keys, stacks,
//! unrelated noise, and the waits for convergence.

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt, stream};
use grafana_cloud_operator::crd::{
    ApiKeyRole, CredentialsRef, GrafanaCloudApiKey, GrafanaCloudApiKeySpec, GrafanaStack,
    GrafanaStackSpec,
};
use k8s_openapi::{
    ByteString,
    api::core::v1::{ConfigMap, Namespace, Secret},
};
use kube::{
    Api, Client,
    api::{DeleteParams, ObjectMeta, PostParams},
};

use crate::{BoxError, figures::Calls};

/// Name of the credentials Secret in every bench namespace.
pub const CREDENTIALS: &str = "grafana-credentials";
/// Concurrent creates the benchmark itself sends to kube-apiserver.
pub const CREATE_CONCURRENCY: usize = 32;

/// Org `i`'s slug and bearer token.
pub fn org(i: usize) -> (String, String) {
    (
        format!("benchorg{i}"),
        format!("glc_bench_org{i}_token_0123456789"),
    )
}

/// The namespace holding org `i`'s resources.
pub fn namespace(i: usize) -> String {
    format!("bench-org{i}")
}

/// One resource the benchmark manages: kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Item {
    pub stack: bool,
    pub ns: String,
    pub name: String,
}

/// `keys` org keys and `stacks` stacks spread round-robin over `orgs` namespaces.
pub fn items(keys: usize, stacks: usize, orgs: usize) -> Vec<Item> {
    let key_items = (0..keys).map(|i| Item {
        stack: false,
        ns: namespace(i % orgs),
        name: format!("key-{i}"),
    });
    let stack_items = (0..stacks).map(|i| Item {
        stack: true,
        ns: namespace(i % orgs),
        name: format!("stack-{i}"),
    });
    key_items.chain(stack_items).collect()
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    }
}

pub async fn create_namespace(client: &Client, name: &str) -> Result<(), BoxError> {
    let ns = Namespace {
        metadata: meta(name),
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// One namespace per org, each with a credentials Secret (`token` + `orgSlug`).
pub async fn setup_orgs(client: &Client, orgs: usize) -> Result<(), BoxError> {
    for i in 0..orgs {
        let ns = namespace(i);
        create_namespace(client, &ns).await?;
        let (slug, token) = org(i);
        let secret = Secret {
            metadata: meta(CREDENTIALS),
            data: Some(
                [
                    ("token".to_string(), ByteString(token.into_bytes())),
                    ("orgSlug".to_string(), ByteString(slug.into_bytes())),
                ]
                .into(),
            ),
            ..Default::default()
        };
        Api::<Secret>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &secret)
            .await?;
    }
    Ok(())
}

/// Unrelated Secrets and ConfigMaps (512 bytes of data each) spread over ten namespaces,
/// created with bounded concurrency. Returns the time it took.
pub async fn create_noise(
    client: &Client,
    secrets: usize,
    configmaps: usize,
) -> Result<Duration, BoxError> {
    let started = Instant::now();
    if secrets + configmaps == 0 {
        return Ok(Duration::ZERO);
    }
    const NAMESPACES: usize = 10;
    for i in 0..NAMESPACES {
        create_namespace(client, &format!("noise-{i}")).await?;
    }
    let payload = "x".repeat(512);
    let jobs = (0..secrets)
        .map(|i| (true, i))
        .chain((0..configmaps).map(|i| (false, i)));
    stream::iter(jobs)
        .map(|(secret, i)| {
            let client = client.clone();
            let payload = payload.clone();
            async move {
                let ns = format!("noise-{}", i % NAMESPACES);
                let pp = PostParams::default();
                if secret {
                    let obj = Secret {
                        metadata: meta(&format!("unrelated-{i}")),
                        string_data: Some([("payload".to_string(), payload)].into()),
                        ..Default::default()
                    };
                    Api::<Secret>::namespaced(client, &ns)
                        .create(&pp, &obj)
                        .await?;
                } else {
                    let obj = ConfigMap {
                        metadata: meta(&format!("unrelated-{i}")),
                        data: Some([("payload".to_string(), payload)].into()),
                        ..Default::default()
                    };
                    Api::<ConfigMap>::namespaced(client, &ns)
                        .create(&pp, &obj)
                        .await?;
                }
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(started.elapsed())
}

fn credentials() -> Option<CredentialsRef> {
    Some(CredentialsRef {
        secret_name: CREDENTIALS.into(),
        key: None,
    })
}

/// Creates the resources at once (bounded concurrency). `generation` makes recreated stacks
/// use fresh slugs, so a deleted slug's reservation at grafana.com is not what gets measured.
pub async fn apply(client: &Client, items: &[Item], generation: u32) -> Result<(), BoxError> {
    stream::iter(items.iter().cloned())
        .map(|item| {
            let client = client.clone();
            async move {
                let pp = PostParams::default();
                if item.stack {
                    let index = item.name.trim_start_matches("stack-");
                    let spec = GrafanaStackSpec {
                        slug: format!("bench{index}g{generation}"),
                        name: None,
                        url: None,
                        region: None,
                        description: Some("benchmark stack".into()),
                        labels: BTreeMap::new(),
                        deletion_policy: Default::default(),
                        delete_protection: true,
                        plugins: Vec::new(),
                        remove_datasources: Vec::new(),
                        resync_interval: None,
                        credentials: credentials(),
                    };
                    let obj = GrafanaStack::new(&item.name, spec);
                    Api::<GrafanaStack>::namespaced(client, &item.ns)
                        .create(&pp, &obj)
                        .await?;
                } else {
                    let spec = GrafanaCloudApiKeySpec {
                        name: None,
                        role: ApiKeyRole::Viewer,
                        stack_ref: None,
                        seconds_to_live: None,
                        rotation: None,
                        secret_name: None,
                        secret_template: None,
                        deletion_policy: Default::default(),
                        credentials: credentials(),
                    };
                    let obj = GrafanaCloudApiKey::new(&item.name, spec);
                    Api::<GrafanaCloudApiKey>::namespaced(client, &item.ns)
                        .create(&pp, &obj)
                        .await?;
                }
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Deletes the resources (bounded concurrency), without waiting for finalizers.
pub async fn delete(client: &Client, items: &[Item]) -> Result<(), BoxError> {
    stream::iter(items.iter().cloned())
        .map(|item| {
            let client = client.clone();
            async move {
                let dp = DeleteParams::default();
                if item.stack {
                    Api::<GrafanaStack>::namespaced(client, &item.ns)
                        .delete(&item.name, &dp)
                        .await?;
                } else {
                    Api::<GrafanaCloudApiKey>::namespaced(client, &item.ns)
                        .delete(&item.name, &dp)
                        .await?;
                }
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// The grafana.com calls that creating (or, with `churn`, deleting and recreating) `items`
/// needs at least: one read-before-create list per org and kind involved; per org key one
/// create; per stack one create and one readiness check; plus one delete each when churned.
pub fn calls_needed(items: &[Item], churn: bool) -> Calls {
    let mut calls = Calls::default();
    let mut listed: HashSet<(bool, &str)> = HashSet::new();
    for item in items {
        let kind = if item.stack { "stacks" } else { "keys" };
        if listed.insert((item.stack, item.ns.as_str())) {
            calls.add(&item.ns, kind, 1);
        }
        let per_item = if item.stack { 2 } else { 1 } + u64::from(churn);
        calls.add(&item.ns, kind, per_item);
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_needed_count_one_list_per_org_and_kind() {
        let all = items(4, 2, 2);
        let calls = calls_needed(&all, false);
        // Org 0: 2 keys + 1 stack: 2 lists, 2 key creates, 1 stack create + 1 readiness.
        assert_eq!(calls.by_org.get("bench-org0"), Some(&6));
        assert_eq!(calls.by_kind.get("keys"), Some(&6));
        assert_eq!(calls.by_kind.get("stacks"), Some(&6));
        let churned = calls_needed(&all[..1], true);
        assert_eq!(
            churned.by_kind.get("keys"),
            Some(&3),
            "list, delete, create"
        );
    }
}
