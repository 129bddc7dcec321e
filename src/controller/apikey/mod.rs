//! The GrafanaCloudApiKey controller (SPEC §4): organisation and stack API keys whose tokens
//! the operator writes into Secrets.
//!
//! - [`org`]: organisation keys, replaced whenever the Secret loses the token.
//! - [`stack_key`]: stack keys, with unique names, waiting for their stack, rotated before
//!   expiry.
//! - [`desired`]: the pure decisions both use.

mod apply;
mod claim;
mod cleanup;
pub mod desired;
pub mod org;
pub mod stack_key;

use std::sync::Arc;

use kube::{
    Api, ResourceExt,
    runtime::{
        controller::Action,
        finalizer::{Event as FinalizerEvent, finalizer},
        reflector::{ObjectRef, Store},
    },
};
use tracing::{Instrument, info_span};

use crate::crd::{FINALIZER, GrafanaCloudApiKey, GrafanaStack, MANAGED_BY_LABEL, MANAGED_BY_VALUE};

use super::{Context, Error};

/// Reconciles one GrafanaCloudApiKey: converge it, or clean up when it is being deleted.
pub async fn reconcile(obj: Arc<GrafanaCloudApiKey>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let span = info_span!(
        "reconcile",
        kind = "GrafanaCloudApiKey",
        namespace = %namespace,
        name = %obj.name_any(),
        reconcile_id = %uuid::Uuid::new_v4(),
    );
    let started = std::time::Instant::now();
    let result = super::unwinding_to_error(async {
        let api: Api<GrafanaCloudApiKey> = Api::namespaced(ctx.kube.clone(), &namespace);
        finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                FinalizerEvent::Apply(obj) => apply::apply(&obj, &ctx).await,
                FinalizerEvent::Cleanup(obj) => cleanup::cleanup(&obj, &ctx).await,
            }
        })
        .await
        .map_err(|err| Error::Finalizer(Box::new(err)))
    })
    .instrument(span)
    .await;
    let failure = result.as_ref().err().map(Error::category);
    ctx.metrics
        .reconciled(apply::KIND, started.elapsed(), failure);
    result
}

/// The keys in `store` that reference `stack`, for the GrafanaStack watch.
pub fn keys_of_stack(
    store: &Store<GrafanaCloudApiKey>,
    stack: &GrafanaStack,
) -> Vec<ObjectRef<GrafanaCloudApiKey>> {
    let (Some(namespace), name) = (stack.namespace(), stack.name_any()) else {
        return Vec::new();
    };
    store
        .state()
        .iter()
        .filter(|key| desired::references_stack(key, &namespace, &name))
        .map(|key| ObjectRef::from_obj(key.as_ref()))
        .collect()
}

/// Runs the GrafanaCloudApiKey controller over `scope` (one namespace, or all) until
/// `shutdown`. It watches the Secrets it writes (by the managed-by label only), the
/// credentials Secrets (metadata only) and the GrafanaStacks the keys reference.
pub async fn run(ctx: Arc<Context>, scope: Option<String>, shutdown: super::Shutdown) {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::Secret;
    use kube::runtime::{Controller, controller, watcher};

    let api: Api<GrafanaCloudApiKey> = super::scoped_api(&ctx.kube, scope.as_deref());
    let owned: Api<Secret> = super::scoped_api(&ctx.kube, scope.as_deref());
    let stacks: Api<GrafanaStack> = super::scoped_api(&ctx.kube, scope.as_deref());
    let (store, changes) = super::trigger::spec_changes(api);
    let stack_store = store.clone();
    let managed = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}");
    let controller = Controller::for_stream(changes, store.clone())
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency))
        .owns(owned, watcher::Config::default().labels(&managed));
    let controller = super::watch::watch_credentials(
        controller,
        &ctx.kube,
        scope.as_deref(),
        ctx.config.default_credentials.clone(),
        store,
    );
    controller
        .watches(
            stacks,
            watcher::Config::default().any_semantic(),
            move |stack| keys_of_stack(&stack_store, &stack),
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile, super::error_policy, ctx)
        .for_each(|result| async move { super::log_result("GrafanaCloudApiKey", result) })
        .await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use kube::runtime::{reflector::store::Writer, watcher};
    use serde_json::json;

    use super::*;

    fn obj<K: serde::de::DeserializeOwned>(
        kind: &str,
        ns: &str,
        name: &str,
        spec: serde_json::Value,
    ) -> K {
        serde_json::from_value(json!({
            "apiVersion": "grafanacloud.operator.dev/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn a_stack_change_maps_to_the_keys_that_use_it_in_its_namespace() {
        let mut writer = Writer::<GrafanaCloudApiKey>::new(());
        for (ns, name, spec) in [
            (
                "a",
                "stack-key",
                json!({"role": "Admin", "stackRef": "main"}),
            ),
            (
                "a",
                "templated",
                json!({"role": "MetricsPublisher", "secretTemplate": {"stackRef": "main"}}),
            ),
            ("a", "org-key", json!({"role": "Viewer"})),
            (
                "a",
                "other-stack",
                json!({"role": "Admin", "stackRef": "other"}),
            ),
            (
                "b",
                "same-name-elsewhere",
                json!({"role": "Admin", "stackRef": "main"}),
            ),
        ] {
            let key: GrafanaCloudApiKey = obj("GrafanaCloudApiKey", ns, name, spec);
            writer.apply_watcher_event(&watcher::Event::Apply(key));
        }
        let stack: GrafanaStack = obj("GrafanaStack", "a", "main", json!({"slug": "main"}));
        let mut names: Vec<String> = keys_of_stack(&writer.as_reader(), &stack)
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.sort();
        assert_eq!(names, ["stack-key", "templated"]);
    }
}
