//! The controller shell that every kind shares: the reconcile wrapper (span, timer, panic
//! guard, finalizer unless the kind adds its own, metrics) and the watch loop (spec changes,
//! credentials Secrets, the kind's own watches). A kind plugs in by implementing [`ManagedKind`]; `run.rs` starts it
//! with one line.

use std::sync::Arc;

use futures::StreamExt;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller, controller,
        controller::Action,
        finalizer::{Event as FinalizerEvent, finalizer},
        reflector::ObjectRef,
    },
};
use tracing::{Instrument, info_span};

pub use super::kind::ManagedKind;
use super::{
    Context, Error, Shutdown,
    fair_gate::{Deferred, FairGate},
};
use crate::crd::FINALIZER;

/// Reconciles one resource: converge it, or clean up when it is being deleted. The finalizer
/// is kept through `kube`; everything else goes through the context's cluster port.
pub async fn reconcile<K: ManagedKind>(
    obj: Arc<K>,
    ctx: Arc<Context>,
    kube: Client,
) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let span = info_span!(
        "reconcile",
        kind = K::KIND,
        namespace = %namespace,
        name = %obj.name_any(),
        reconcile_id = %uuid::Uuid::new_v4(),
    );
    let started = std::time::Instant::now();
    let result = super::unwinding_to_error(async {
        // The steps are boxed: a task reserves its future's largest state for its whole life,
        // and unboxed that held apply, cleanup and the finalizer's writes nested (18 KiB for a
        // key); boxed, a reconcile in flight holds 1 KiB and the state of the step it is in.
        if K::ADDS_OWN_FINALIZER && !obj.finalizers().iter().any(|f| f == FINALIZER) {
            // Nothing remote exists yet that a delete would clean up.
            return match obj.meta().deletion_timestamp {
                Some(_) => Ok(Action::await_change()),
                None => Box::pin(K::apply(&obj, &ctx)).await,
            };
        }
        let api: Api<K> = Api::namespaced(kube, &namespace);
        Box::pin(finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                FinalizerEvent::Apply(obj) => Box::pin(K::apply(&obj, &ctx)).await,
                FinalizerEvent::Cleanup(obj) => Box::pin(K::cleanup(&obj, &ctx)).await,
            }
        }))
        .await
        .map_err(|err| Error::Finalizer(Box::new(err)))
    })
    .instrument(span)
    .await;
    let failure = result.as_ref().err().map(Error::category);
    ctx.metrics.reconciled(K::KIND, started.elapsed(), failure);
    result
}

/// Runs the controller of kind `K` over `scope` (one namespace, or all) until `shutdown`,
/// watching through `kube`.
pub async fn run<K: ManagedKind>(
    ctx: Arc<Context>,
    kube: Client,
    scope: Option<String>,
    shutdown: Shutdown,
) {
    let api: Api<K> = super::scoped_api(&kube, scope.as_deref());
    let (store, changes) = super::trigger::spec_changes(api);
    // kube admits a few times as many reconciles as may work at once (each waiting one holds
    // about 2 KiB), and the gate decides among them whose turn it is.
    let gate = FairGate::new(ctx.config.concurrency);
    let controller = Controller::for_stream(changes, store.clone())
        .with_config(controller::Config::default().concurrency(gate.admitted()));
    let controller = K::watches(controller, &kube, scope.as_deref(), &store);
    let newest = store.clone();
    let controller = match K::OWNS_SECRETS {
        true => {
            super::watch::owned_secrets(controller, &kube, scope.as_deref(), ctx.own_writes.clone())
        }
        false => controller,
    };
    let controller = match K::WATCHES_CREDENTIALS {
        true => super::watch::watch_credentials(
            controller,
            &kube,
            scope.as_deref(),
            ctx.config.default_credentials.clone(),
            store,
            ctx.credentials_cache.clone(),
        ),
        false => controller,
    };
    // Cloned into a reconcile only once it has its slot: a waiting one stays small.
    let kube = Arc::new(kube);
    let stopping = shutdown.clone();
    controller
        .graceful_shutdown_on(shutdown)
        .run(
            move |obj, ctx| {
                let (gate, newest, kube) = (gate.clone(), newest.clone(), kube.clone());
                let stopping = stopping.clone();
                async move {
                    let namespace = obj.meta().namespace.as_deref().unwrap_or_default();
                    // A reconcile still waiting when the operator stops has done nothing yet.
                    let entered = tokio::select! {
                        entered = gate.enter(namespace) => entered,
                        () = stopping => return Ok(Action::await_change()),
                    };
                    // Its namespace has its share of the gate: back to kube's queue, leaving
                    // kube's admission to other namespaces.
                    let _slot = match entered {
                        Ok(slot) => slot,
                        Err(Deferred(after)) => return Ok(Action::requeue(after)),
                    };
                    // The wait can be long in a burst: work from the newest copy, and not at
                    // all when the resource is gone.
                    let Some(obj) = newest.get(&ObjectRef::from_obj(obj.as_ref())) else {
                        return Ok(Action::await_change());
                    };
                    Box::pin(reconcile::<K>(obj, ctx, Client::clone(&kube))).await
                }
            },
            super::error_policy,
            ctx,
        )
        .for_each(|result| async move { super::log_result(K::KIND, result) })
        .await;
}
