//! The controllers and what they share.

pub mod account_token;
pub mod apikey;
pub mod claims;
pub mod cluster;
pub mod conditions;
mod context;
pub mod credentials;
mod credentials_cache;
pub mod echo;
pub mod error;
mod event_queue;
mod events;
mod fair_gate;
pub mod kind;
pub mod policy;
pub mod policy_token;
pub mod refs;
pub mod requeue;
pub mod secret;
pub mod secret_write;
pub mod service_account;
pub mod shell;
pub mod snapshot;
pub mod stack;
mod status;
pub mod token;
pub mod trigger;
pub mod watch;

pub use context::{Config, Context};
pub use error::Error;
pub use event_queue::EventQueue;

use std::{fmt::Debug, future::Future, pin::Pin, sync::Arc};

use kube::{
    Api, Client, Resource, ResourceExt,
    core::NamespaceResourceScope,
    runtime::{controller::Action, reflector::ObjectRef},
};
use tracing::{debug, warn};

/// Resolves when the operator should stop; every controller gets a clone.
pub type Shutdown = futures::future::Shared<Pin<Box<dyn Future<Output = ()> + Send + Sync>>>;

/// An `Api` over one namespace, or over all namespaces when `scope` is `None`.
pub fn scoped_api<K>(client: &Client, scope: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    match scope {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// Decides when a failed reconcile runs again (STYLE: "fix it" errors wait for a change,
/// transient ones back off, honouring Retry-After).
pub fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<K>,
    err: &Error,
    ctx: Arc<Context>,
) -> Action {
    let failures = ctx.record_failure(obj.as_ref());
    let retry = err.retry_after(failures.saturating_sub(1));
    warn!(
        kind = %K::kind(&()),
        namespace = obj.namespace().unwrap_or_default(),
        name = %obj.name_any(),
        category = err.category(),
        failures,
        retry_in = ?retry,
        request_id = err.request_id(),
        attempts = err.attempts(),
        error = %err,
        "reconcile failed"
    );
    retry.map_or_else(Action::await_change, requeue::after)
}

/// Runs one reconcile pass so that a panic in it costs only this resource a pass, reported as
/// [`Error::Panicked`], and never the controller that serves every other resource.
pub async fn unwinding_to_error(
    pass: impl Future<Output = Result<Action, Error>>,
) -> Result<Action, Error> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(pass)
        .catch_unwind()
        .await
        .unwrap_or(Err(Error::Panicked))
}

/// Logs what a controller reports for each reconcile.
pub fn log_result<K: Resource, E: std::fmt::Display>(
    kind: &'static str,
    result: Result<(ObjectRef<K>, Action), E>,
) where
    K::DynamicType: Debug,
{
    match result {
        Ok((obj, action)) => debug!(kind, object = %obj, ?action, "reconciled"),
        Err(err) => debug!(kind, error = %err, "reconcile did not complete"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_pass_becomes_an_error_of_that_resource() {
        let result = unwinding_to_error(async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            Ok(Action::await_change())
        })
        .await;
        assert!(matches!(result, Err(Error::Panicked)), "{result:?}");
        let fine = unwinding_to_error(async { Ok(Action::await_change()) }).await;
        assert!(fine.is_ok());
    }
}
