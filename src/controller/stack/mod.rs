//! The GrafanaStack controller (SPEC §3).

mod apply;
mod cleanup;
pub mod desired;

use std::sync::Arc;

use kube::{
    Api, ResourceExt,
    runtime::{
        controller::Action,
        finalizer::{Event as FinalizerEvent, finalizer},
    },
};
use tracing::{Instrument, info_span};

use crate::crd::{FINALIZER, GrafanaStack};

use super::{Context, Error};

/// Reconciles one GrafanaStack: converge it, or clean up when it is being deleted.
pub async fn reconcile(obj: Arc<GrafanaStack>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let span = info_span!(
        "reconcile",
        kind = "GrafanaStack",
        namespace = %namespace,
        name = %obj.name_any(),
        reconcile_id = %uuid::Uuid::new_v4(),
    );
    let started = std::time::Instant::now();
    let result = super::unwinding_to_error(async {
        let api: Api<GrafanaStack> = Api::namespaced(ctx.kube.clone(), &namespace);
        let action = finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                FinalizerEvent::Apply(obj) => apply::apply(&obj, &ctx).await,
                FinalizerEvent::Cleanup(obj) => cleanup::cleanup(&obj, &ctx).await,
            }
        })
        .await
        .map_err(|err| Error::Finalizer(Box::new(err)))?;
        Ok(action)
    })
    .instrument(span)
    .await;
    let failure = result.as_ref().err().map(Error::category);
    ctx.metrics
        .reconciled("GrafanaStack", started.elapsed(), failure);
    result
}

/// Runs the GrafanaStack controller over `scope` (one namespace, or all) until `shutdown`.
pub async fn run(ctx: Arc<Context>, scope: Option<String>, shutdown: super::Shutdown) {
    use futures::StreamExt;
    use kube::runtime::{Controller, controller};

    let api: Api<GrafanaStack> = super::scoped_api(&ctx.kube, scope.as_deref());
    let (store, changes) = super::trigger::spec_changes(api);
    let controller = Controller::for_stream(changes, store.clone())
        .with_config(controller::Config::default().concurrency(ctx.config.concurrency));
    let controller = super::watch::watch_credentials(
        controller,
        &ctx.kube,
        scope.as_deref(),
        ctx.config.default_credentials.clone(),
        store,
    );
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, super::error_policy, ctx)
        .for_each(|result| async move { super::log_result("GrafanaStack", result) })
        .await;
}
