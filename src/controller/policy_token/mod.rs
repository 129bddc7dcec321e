//! The GrafanaCloudAccessPolicyToken controller: tokens of access policies, written into
//! Secrets with the endpoints to use them, rotated with an overlap.
//!
//! - [`desired`]: the pure decisions (names, timing, plan).
//! - `issue`: creating, storing and switching over.
//! - `remote`: the shared, cached reads from grafana.com.

mod apply;
mod cleanup;
pub mod desired;
mod facts;
mod issue;
mod remote;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};

use crate::crd::{
    CredentialsRef, GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken, GrafanaStack,
    MANAGED_BY_LABEL, MANAGED_BY_VALUE,
};

use super::{Context, Error, shell::ManagedKind};

impl ManagedKind for GrafanaCloudAccessPolicyToken {
    const KIND: &'static str = "GrafanaCloudAccessPolicyToken";

    /// Tokens use their policy's credentials, so they name none themselves.
    fn credentials(&self) -> Option<&CredentialsRef> {
        None
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        apply::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        cleanup::cleanup(obj, ctx).await
    }

    /// The Secrets it writes, its policy, and the GrafanaStack its templates name.
    fn watches(
        controller: Controller<Self>,
        kube: &Client,
        scope: Option<&str>,
        store: &Store<Self>,
    ) -> Controller<Self> {
        let owned: Api<Secret> = super::scoped_api(kube, scope);
        let policies: Api<GrafanaCloudAccessPolicy> = super::scoped_api(kube, scope);
        let stacks: Api<GrafanaStack> = super::scoped_api(kube, scope);
        let managed = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}");
        let (by_policy, by_stack) = (store.clone(), store.clone());
        controller
            .owns(owned, watcher::Config::default().labels(&managed))
            .watches(
                policies,
                watcher::Config::default().any_semantic(),
                move |policy: GrafanaCloudAccessPolicy| {
                    users(&by_policy, &policy.namespace().unwrap_or_default(), |t| {
                        t.spec.policy_ref == policy.name_any()
                    })
                },
            )
            .watches(
                stacks,
                watcher::Config::default().any_semantic(),
                move |stack: GrafanaStack| {
                    users(&by_stack, &stack.namespace().unwrap_or_default(), |t| {
                        t.spec
                            .secret_template
                            .as_ref()
                            .and_then(|s| s.stack_ref.as_deref())
                            == Some(stack.name_any().as_str())
                    })
                },
            )
    }
}

/// The tokens in `namespace` for which `uses` holds.
fn users(
    store: &Store<GrafanaCloudAccessPolicyToken>,
    namespace: &str,
    uses: impl Fn(&GrafanaCloudAccessPolicyToken) -> bool,
) -> Vec<ObjectRef<GrafanaCloudAccessPolicyToken>> {
    store
        .state()
        .iter()
        .filter(|t| t.namespace().as_deref() == Some(namespace) && uses(t))
        .map(|t| ObjectRef::from_obj(t.as_ref()))
        .collect()
}
