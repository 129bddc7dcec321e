//! The GrafanaStack controller (SPEC §3).

mod apply;
mod cleanup;
mod create;
pub mod desired;
mod inventory;
mod plugins;
mod record;

use kube::runtime::controller::Action;

use crate::crd::{CredentialsRef, GrafanaStack};

use super::{Context, Error, shell::ManagedKind};

impl ManagedKind for GrafanaStack {
    const KIND: &'static str = "GrafanaStack";

    fn credentials(&self) -> Option<&CredentialsRef> {
        self.spec.credentials.as_ref()
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        apply::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        cleanup::cleanup(obj, ctx).await
    }
}
