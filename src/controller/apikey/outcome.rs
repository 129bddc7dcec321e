//! How a GrafanaCloudApiKey pass ends, and the one wait every kind of key shares.

use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::controller::Action;

use crate::controller::{
    Context, cluster,
    conditions::{Readiness, Reason},
};

/// What a successful pass decided.
pub struct Outcome {
    pub readiness: Readiness,
    pub action: Action,
    /// The pass settled `status.keyName` from the Secret or the API server (see [`claim`]).
    pub claim_settled: bool,
}

/// While the namespace is being deleted no new key is created: its Secret could no longer
/// be written, and a stack key would leak. Best effort: without permission to read the
/// namespace, keys are created as usual.
pub async fn namespace_terminating(ctx: &Context, namespace: &str) -> Option<Outcome> {
    let terminating = cluster::get::<Namespace>(ctx.cluster.as_ref(), None, namespace)
        .await
        .ok()
        .flatten()
        .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some());
    terminating.then(|| Outcome {
        readiness: Readiness::not_ready(
            Reason::Deleting,
            format!("namespace {namespace} is being deleted; no new key is created"),
        ),
        action: Action::await_change(),
        claim_settled: false,
    })
}
