//! Which changes of a controller's own resources start a reconcile.
//!
//! Every status write the operator makes is a watch event of its own. Without a filter
//! each one starts another pass that finds nothing to do: about three passes per key
//! while a burst of keys converges, each holding a concurrency slot and reading the
//! Secret. Status changes are therefore not triggers; everything a pass acts on is: the
//! spec (through `metadata.generation`), deletion, finalizers, annotations (adoption,
//! restart) and labels. The store behind the controller still sees every event, and
//! requeues and the watches of other kinds are unaffected.

use std::{
    fmt::Debug,
    hash::{DefaultHasher, Hash, Hasher},
};

use futures::Stream;
use kube::{
    Api, Resource, ResourceExt,
    runtime::{
        PredicateConfig, WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;

/// A store of the resources `api` lists, and the stream of changes that start a reconcile.
pub fn spec_changes<K>(
    api: Api<K>,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let changes = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        // managedFields took about 6 KiB of every stored key, and nothing reads them.
        .modify(|obj| obj.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(reconcile_inputs::<K>, PredicateConfig::default());
    (reader, changes)
}

/// A hash of everything but status and bookkeeping: two versions with the same hash
/// would be reconciled the same way.
pub fn reconcile_inputs<K: Resource>(obj: &K) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    obj.meta().generation.hash(&mut hasher);
    obj.meta().deletion_timestamp.is_some().hash(&mut hasher);
    obj.finalizers().hash(&mut hasher);
    obj.annotations().hash(&mut hasher);
    obj.labels().hash(&mut hasher);
    Some(hasher.finish())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::reconcile_inputs;
    use crate::crd::GrafanaCloudApiKey;

    fn key(meta: serde_json::Value, status: serde_json::Value) -> GrafanaCloudApiKey {
        serde_json::from_value(json!({
            "apiVersion": "grafanacloud.operator.dev/v1alpha1",
            "kind": "GrafanaCloudApiKey",
            "metadata": meta,
            "spec": {"role": "Viewer"},
            "status": status,
        }))
        .expect("valid key")
    }

    fn base() -> serde_json::Value {
        json!({"name": "k", "namespace": "ns", "generation": 1, "resourceVersion": "10"})
    }

    #[test]
    fn status_and_resource_version_alone_are_not_inputs() {
        let before = key(base(), json!({"conditions": []}));
        let mut meta = base();
        meta["resourceVersion"] = json!("11");
        let after = key(meta, json!({"keyName": "k", "conditions": []}));
        assert_eq!(reconcile_inputs(&before), reconcile_inputs(&after));
    }

    #[test]
    fn spec_deletion_finalizers_annotations_and_labels_are_inputs() {
        let before = reconcile_inputs(&key(base(), json!({})));
        let changes = [
            json!({"generation": 2}),
            json!({"deletionTimestamp": "2026-01-01T00:00:00Z"}),
            json!({"finalizers": ["grafanacloud.operator.dev/cleanup"]}),
            json!({"annotations": {"grafanacloud.operator.dev/restart": "1"}}),
            json!({"labels": {"team": "a"}}),
        ];
        for change in changes {
            let mut meta = base();
            for (field, value) in change.as_object().expect("object") {
                meta[field] = value.clone();
            }
            assert_ne!(
                before,
                reconcile_inputs(&key(meta, json!({}))),
                "{change} must start a reconcile"
            );
        }
    }
}
