//! What a resource depends on in Kubernetes, read the same way by every kind: a referenced
//! GrafanaStack that must be Ready, and whether the namespace is going away.

use std::{convert::Infallible, time::Duration};

use k8s_openapi::api::core::v1::Namespace;

use super::{Context, Error, cluster, conditions, secret::StackFacts};
use crate::crd::GrafanaStack;

/// The GrafanaStack `name` in `namespace` once it is Ready; `Err(message)` says what the
/// resource waits for.
pub async fn ready_stack(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<GrafanaStack, String>, Error> {
    let stack = cluster::get::<GrafanaStack>(ctx.cluster.as_ref(), Some(namespace), name).await?;
    let Some(stack) = stack else {
        return Ok(Err(format!(
            "waiting for GrafanaStack {name}: it does not exist"
        )));
    };
    let ready = stack
        .status
        .as_ref()
        .is_some_and(|s| conditions::is_ready(&s.conditions));
    if !ready {
        return Ok(Err(format!(
            "waiting for GrafanaStack {name} to become Ready"
        )));
    }
    Ok(Ok(stack))
}

/// How long an answer of [`namespace_terminating`] is reused. A burst of new resources in
/// one namespace reads it once instead of once per create. A create that slips into the
/// first seconds of a deletion costs what it cost before the check: its Secret is refused
/// and the new credential deleted again.
const NAMESPACE_CHECK_MAX_AGE: Duration = Duration::from_secs(5);

/// Whether `namespace` is being deleted. While it is, no new key or token is created: its
/// Secret could no longer be written. Best effort: without permission to read the namespace,
/// the answer is no.
pub async fn namespace_terminating(ctx: &Context, namespace: &str) -> bool {
    let read = ctx
        .namespaces_terminating
        .get(namespace, NAMESPACE_CHECK_MAX_AGE, || async {
            Ok::<_, Infallible>(
                cluster::get::<Namespace>(ctx.cluster.as_ref(), None, namespace)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some()),
            )
        })
        .await;
    read.is_ok_and(|terminating| *terminating)
}

/// A stack's facts from its GrafanaStack resource.
pub fn stack_facts(stack: &GrafanaStack) -> StackFacts {
    let status = stack.status.clone().unwrap_or_default();
    StackFacts {
        slug: stack.spec.slug.clone(),
        id: status.id,
        url: status.url,
        org_slug: status.org_slug,
        endpoints: status.endpoints.unwrap_or_default(),
        connections: status.connections.unwrap_or_default(),
    }
}
