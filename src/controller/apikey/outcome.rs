//! How a GrafanaCloudApiKey pass ends, and the one wait every kind of key shares.

use kube::runtime::controller::Action;

use crate::controller::{
    Context,
    conditions::{Readiness, Reason},
    refs,
};

/// What a successful pass decided.
pub struct Outcome {
    pub readiness: Readiness,
    pub action: Action,
}

/// While the namespace is being deleted no new key is created: its Secret could no longer
/// be written, and a stack key would leak.
pub async fn namespace_terminating(ctx: &Context, namespace: &str) -> Option<Outcome> {
    refs::namespace_terminating(ctx, namespace)
        .await
        .then(|| Outcome {
            readiness: Readiness::not_ready(
                Reason::Deleting,
                format!("namespace {namespace} is being deleted; no new key is created"),
            ),
            action: Action::await_change(),
        })
}
