//! The GrafanaCloudAccessPolicy controller: cloud access policies whose realms name the
//! organisation or GrafanaStacks in the namespace.
//!
//! - [`desired`]: the pure decisions (name, body, drift, ownership).
//! - `remote`: the shared, cached reads from grafana.com.

mod apply;
mod cleanup;
pub mod desired;
pub mod remote;

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
    RealmType,
};

use super::{Context, Error, shell::ManagedKind, watch::users_in};

impl ManagedKind for GrafanaCloudAccessPolicy {
    const KIND: &'static str = "GrafanaCloudAccessPolicy";

    fn credentials(&self) -> Option<&CredentialsRef> {
        self.spec.credentials.as_ref()
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        apply::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        cleanup::cleanup(obj, ctx).await
    }

    /// The GrafanaStacks its realms name, and its tokens' resources (a delete waits for
    /// them).
    fn watches(
        controller: Controller<Self>,
        kube: &Client,
        scope: Option<&str>,
        store: &Store<Self>,
    ) -> Controller<Self> {
        let stacks: Api<GrafanaStack> = super::scoped_api(kube, scope);
        let tokens: Api<GrafanaCloudAccessPolicyToken> = super::scoped_api(kube, scope);
        let by_stack = store.clone();
        controller
            .watches(
                stacks,
                watcher::Config::default().any_semantic(),
                move |stack| policies_of_stack(&by_stack, &stack),
            )
            .watches(
                tokens,
                watcher::Config::default().any_semantic(),
                // Only a token going away matters to its policy: a delete waits for it.
                |token: GrafanaCloudAccessPolicyToken| {
                    let going = token.metadata.deletion_timestamp.is_some();
                    token
                        .namespace()
                        .filter(|_| going)
                        .map(|ns| ObjectRef::new(&token.spec.policy_ref).within(&ns))
                },
            )
    }
}

/// The policies in `store` with a realm on `stack`.
fn policies_of_stack(
    store: &Store<GrafanaCloudAccessPolicy>,
    stack: &GrafanaStack,
) -> Vec<ObjectRef<GrafanaCloudAccessPolicy>> {
    let name = stack.name_any();
    users_in(store, stack.namespace().as_deref(), |p| {
        p.spec
            .realms
            .iter()
            .any(|r| r.type_ == RealmType::Stack && r.stack_ref.as_deref() == Some(name.as_str()))
    })
}
