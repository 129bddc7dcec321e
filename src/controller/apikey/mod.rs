//! The GrafanaCloudApiKey controller (SPEC §4): organisation and stack API keys whose tokens
//! the operator writes into Secrets.
//!
//! - [`org`]: organisation keys, replaced whenever the Secret loses the token.
//! - [`stack_key`]: stack keys, with unique names, waiting for their stack, rotated before
//!   expiry.
//! - [`desired`]: the pure decisions both use.

mod apply;
pub mod claim;
mod cleanup;
pub mod desired;
pub mod org;
mod outcome;
pub mod stack_key;

use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};

use crate::crd::{CredentialsRef, GrafanaCloudApiKey, GrafanaStack};

use super::{Context, Error, shell::ManagedKind};

impl ManagedKind for GrafanaCloudApiKey {
    const KIND: &'static str = "GrafanaCloudApiKey";
    const OWNS_SECRETS: bool = true;
    /// With the claim on an org key's name, in one write right before the create.
    const ADDS_OWN_FINALIZER: bool = true;
    const OWN_ANNOTATIONS: &'static [&'static str] = &[claim::CLAIM_ANNOTATION];

    fn credentials(&self) -> Option<&CredentialsRef> {
        self.spec.credentials.as_ref()
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        apply::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        cleanup::cleanup(obj, ctx).await
    }

    /// The GrafanaStacks the keys reference.
    fn watches(
        controller: Controller<Self>,
        kube: &Client,
        scope: Option<&str>,
        store: &Store<Self>,
    ) -> Controller<Self> {
        let stacks: Api<GrafanaStack> = super::scoped_api(kube, scope);
        let store = store.clone();
        controller.watches(
            stacks,
            watcher::Config::default().any_semantic(),
            move |stack| keys_of_stack(&store, &stack),
        )
    }
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
