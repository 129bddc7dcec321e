//! Which changes of a controller's own resources start a reconcile.
//!
//! Every status write the operator makes is a watch event of its own. Without a filter
//! each one starts another pass that finds nothing to do: about three passes per key
//! while a burst of keys converges, each holding a concurrency slot and reading the
//! Secret. Status changes are therefore not triggers; everything a pass acts on is: the
//! spec (through `metadata.generation`), deletion, finalizers, annotations (adoption,
//! restart) and labels. The store behind the controller still sees every event, and
//! requeues and the watches of other kinds are unaffected. A kind that writes its own
//! finalizer and claim annotation in the middle of a pass ([`ManagedKind::ADDS_OWN_FINALIZER`])
//! leaves both out too: the pass that wrote them goes on to do what they were written for,
//! and a pass woken by their echo could start before the watch cache holds the status that
//! same pass wrote.

use std::hash::{DefaultHasher, Hash, Hasher};

use futures::Stream;
use kube::{
    Api, ResourceExt,
    runtime::{
        PredicateConfig, WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};

use super::kind::ManagedKind;
use crate::crd::FINALIZER;

/// A store of the resources `api` lists, and the stream of changes that start a reconcile.
pub fn spec_changes<K: ManagedKind>(
    api: Api<K>,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let changes = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(trim)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(reconcile_inputs::<K>, PredicateConfig::default());
    (reader, changes)
}

/// `kubectl apply`'s copy of the whole object as last applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what nothing reads before the object reaches the store: managedFields (about
/// 6 KiB of every stored key) and the copy of the spec that `kubectl apply` keeps in an
/// annotation.
fn trim<K: ManagedKind>(obj: &mut K) {
    obj.managed_fields_mut().clear();
    obj.annotations_mut().remove(LAST_APPLIED);
}

/// A hash of everything but status and bookkeeping: two versions with the same hash
/// would be reconciled the same way.
pub fn reconcile_inputs<K: ManagedKind>(obj: &K) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    obj.meta().generation.hash(&mut hasher);
    obj.meta().deletion_timestamp.is_some().hash(&mut hasher);
    let own = |name: &str| K::ADDS_OWN_FINALIZER && name == FINALIZER;
    for finalizer in obj.finalizers().iter().filter(|f| !own(f)) {
        finalizer.hash(&mut hasher);
    }
    for (name, value) in obj.annotations() {
        if !K::OWN_ANNOTATIONS.contains(&name.as_str()) {
            (name, value).hash(&mut hasher);
        }
    }
    obj.labels().hash(&mut hasher);
    Some(hasher.finish())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::reconcile_inputs;
    use crate::{
        controller::apikey::claim::CLAIM_ANNOTATION,
        crd::{FINALIZER, GrafanaCloudApiKey, GrafanaStack},
    };

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

    #[test]
    fn a_key_s_own_finalizer_and_claim_are_not_inputs_but_a_stack_s_finalizer_is() {
        let before = reconcile_inputs(&key(base(), json!({})));
        let mut meta = base();
        meta["finalizers"] = json!([FINALIZER]);
        meta["annotations"] = json!({CLAIM_ANNOTATION: "{}"});
        assert_eq!(before, reconcile_inputs(&key(meta.clone(), json!({}))));

        let stack = |meta: serde_json::Value| -> GrafanaStack {
            serde_json::from_value(json!({
                "apiVersion": "grafanacloud.operator.dev/v1alpha1",
                "kind": "GrafanaStack",
                "metadata": meta,
                "spec": {"slug": "s"},
            }))
            .expect("valid stack")
        };
        assert_ne!(
            reconcile_inputs(&stack(base())),
            reconcile_inputs(&stack(meta)),
            "a stack's finalizer is added in a pass of its own, whose echo starts the next"
        );
    }

    fn base() -> serde_json::Value {
        json!({"name": "k", "namespace": "ns", "generation": 1, "resourceVersion": "10"})
    }

    #[test]
    fn the_store_keeps_neither_managed_fields_nor_kubectl_s_copy() {
        let mut meta = base();
        meta["annotations"] = json!({
            super::LAST_APPLIED: "{\"spec\":{\"role\":\"Viewer\"}}",
            "team": "a",
        });
        meta["managedFields"] = json!([{"manager": "kubectl", "operation": "Apply"}]);
        let mut obj = key(meta, json!({}));
        super::trim(&mut obj);
        assert!(obj.metadata.managed_fields.unwrap_or_default().is_empty());
        assert_eq!(
            obj.metadata
                .annotations
                .unwrap_or_default()
                .into_keys()
                .collect::<Vec<_>>(),
            ["team"]
        );
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
            json!({"finalizers": ["example.com/someone-elses"]}),
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
