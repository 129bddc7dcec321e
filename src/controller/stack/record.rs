//! Writing status before a grafana.com call whose effect must survive a crash right after it.

use crate::{
    controller::{Context, Error, cluster, status},
    crd::{GrafanaStack, GrafanaStackStatus},
};

/// Applies `mark` to the pass's status and writes it to the API server before a grafana.com
/// call whose effect must survive a crash right after it. The write starts from the API
/// server's status, not the watch cache's, so nothing recorded earlier is lost.
pub async fn record_before_call(
    ctx: &Context,
    obj: &GrafanaStack,
    status: &mut GrafanaStackStatus,
    mark: impl Fn(&mut GrafanaStackStatus),
) -> Result<(), Error> {
    let fresh = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|stack| stack.status);
    let mut marked = fresh.clone().unwrap_or_default();
    mark(&mut marked);
    mark(status);
    status::write_if_changed(ctx, obj, fresh.as_ref(), &marked).await
}
