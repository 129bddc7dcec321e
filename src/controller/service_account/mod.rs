//! The GrafanaStackServiceAccount controller: service accounts of a GrafanaStack's Grafana,
//! through the grafana.com proxy.
//!
//! - [`desired`]: the pure decisions (name, drift).
//! - `remote`: the shared, cached reads from grafana.com, also used by the token kind.

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
    CredentialsRef, GrafanaStack, GrafanaStackServiceAccount, GrafanaStackServiceAccountToken,
};

use super::{Context, Error, shell::ManagedKind, watch::users_in};

impl ManagedKind for GrafanaStackServiceAccount {
    const KIND: &'static str = "GrafanaStackServiceAccount";

    fn credentials(&self) -> Option<&CredentialsRef> {
        self.spec.credentials.as_ref()
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        apply::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        cleanup::cleanup(obj, ctx).await
    }

    /// Its GrafanaStack, and its tokens' resources (a delete waits for them).
    fn watches(
        controller: Controller<Self>,
        kube: &Client,
        scope: Option<&str>,
        store: &Store<Self>,
    ) -> Controller<Self> {
        let stacks: Api<GrafanaStack> = super::scoped_api(kube, scope);
        let tokens: Api<GrafanaStackServiceAccountToken> = super::scoped_api(kube, scope);
        let by_stack = store.clone();
        controller
            .watches(
                stacks,
                watcher::Config::default().any_semantic(),
                move |stack: GrafanaStack| {
                    users_in(&by_stack, stack.namespace().as_deref(), |a| {
                        a.spec.stack_ref == stack.name_any()
                    })
                },
            )
            .watches(
                tokens,
                watcher::Config::default().any_semantic(),
                // Only a token going away matters to its account: a delete waits for it.
                |token: GrafanaStackServiceAccountToken| {
                    let going = token.metadata.deletion_timestamp.is_some();
                    token
                        .namespace()
                        .filter(|_| going)
                        .map(|ns| ObjectRef::new(&token.spec.service_account_ref).within(&ns))
                },
            )
    }
}
