//! The fourth term of the lower bound: how fast a plain client makes, against the same
//! control plane in the same run, as many writes as a phase needs, with the operator's
//! concurrency. No operator can write to the kube-apiserver faster than that.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, PostParams},
};
use serde::{Deserialize, Serialize};

use crate::{
    BoxError,
    workload::{self, Item},
};

/// Writes a resource needs at least on creation: an org key or token its finalizer, its
/// Secret and its status; a stack its finalizer and its status.
pub const KEY_WRITES: u64 = 3;
pub const STACK_WRITES: u64 = 2;

/// The namespace the measurement writes into.
const NAMESPACE: &str = "bench-plain-writes";

/// A measured write rate.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PlainWrites {
    pub writes: u64,
    pub concurrency: usize,
    pub seconds: f64,
}

impl PlainWrites {
    /// Seconds a plain client needs for `writes` writes at the measured rate.
    pub fn seconds_for(&self, writes: u64) -> f64 {
        if self.writes == 0 {
            return 0.0;
        }
        self.seconds * writes as f64 / self.writes as f64
    }
}

/// The writes that creating `items` needs at least, and that churning them (a delete that
/// releases the finalizer, then a create) adds.
pub fn needed(items: &[Item], churn: bool) -> u64 {
    items
        .iter()
        .map(|i| if i.stack { STACK_WRITES } else { KEY_WRITES } + u64::from(churn))
        .sum()
}

/// Times `writes` ConfigMap creates at `concurrency`, then deletes them (not timed) and
/// waits until they are gone, so that nothing measured later shares the apiserver with them.
pub async fn measure(
    client: &Client,
    writes: u64,
    concurrency: usize,
) -> Result<PlainWrites, BoxError> {
    workload::create_namespace(client, NAMESPACE).await?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let started = Instant::now();
    stream::iter(0..writes)
        .map(|i| {
            let api = api.clone();
            async move {
                let mut obj = ConfigMap::default();
                obj.metadata.name = Some(format!("plain-{i}"));
                obj.data = Some([("written".to_string(), i.to_string())].into());
                api.create(&PostParams::default(), &obj).await?;
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !api
        .list(&ListParams::default().limit(1))
        .await?
        .items
        .is_empty()
    {
        if Instant::now() > deadline {
            return Err("the plain-write ConfigMaps were not deleted within 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(PlainWrites {
        writes,
        concurrency,
        seconds,
    })
}
