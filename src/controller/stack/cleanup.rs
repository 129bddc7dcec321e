//! Deleting a GrafanaStack: remove the remote stack when the policy says so and the operator
//! manages it, and always say in status and events what the delete is waiting for.

use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::desired::{self, Ownership};
use crate::{
    controller::{
        self, Context, Error, conditions::Reason, credentials, shell::ManagedKind, status,
    },
    crd::{DeletionPolicy, GrafanaStack},
    grafana::UpdateStack,
};

pub async fn cleanup(obj: &GrafanaStack, ctx: &Context) -> Result<Action, Error> {
    let slug = &obj.spec.slug;
    if never_reached_grafana(ctx, obj).await? {
        ctx.event(
            obj,
            EventType::Normal,
            "Released",
            "Delete",
            format!("no stack {slug} was ever created for this resource; nothing to delete"),
        )
        .await;
        ctx.metrics
            .forget(GrafanaStack::KIND, &obj.uid().unwrap_or_default());
        return Ok(Action::await_change());
    }
    if obj.spec.deletion_policy == DeletionPolicy::Retain {
        ctx.event(
            obj,
            EventType::Normal,
            "Retained",
            "Delete",
            format!("left stack {slug} in place (deletionPolicy Retain)"),
        )
        .await;
        ctx.metrics
            .forget(GrafanaStack::KIND, &obj.uid().unwrap_or_default());
        return Ok(Action::await_change());
    }
    match delete_remote(obj, ctx).await {
        Ok(()) => {
            ctx.metrics
                .forget(GrafanaStack::KIND, &obj.uid().unwrap_or_default());
            Ok(Action::await_change())
        }
        Err(err) => {
            // The finalizer stays until the delete succeeds: say what it waits for.
            let (reason, hint) = match &err {
                Error::DeleteBlocked { .. } => (Reason::DeleteBlocked, "the stack is not deleted"),
                _ => (Reason::Deleting, "the stack could not be deleted yet"),
            };
            let message = format!(
                "{hint}: {}; the operator keeps retrying. Set spec.deletionPolicy: Retain to remove \
                 the resource and keep the stack",
                err.condition_message()
            );
            status::report_pending_delete(ctx, obj, obj.status.as_ref(), reason, message).await?;
            Err(err)
        }
    }
}

/// Whether the API server's status records neither a stack nor a create attempt: then no
/// stack can exist for this resource, and the delete needs no credentials and no call.
async fn never_reached_grafana(ctx: &Context, obj: &GrafanaStack) -> Result<bool, Error> {
    let status = controller::cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|stack| stack.status)
        .unwrap_or_default();
    Ok(status.id.is_none() && status.create_attempted_at.is_none())
}

/// Deletes the remote stack if this resource manages it. Absent stacks count as deleted.
async fn delete_remote(obj: &GrafanaStack, ctx: &Context) -> Result<(), Error> {
    let slug = &obj.spec.slug;
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let creds =
        credentials::resolve_for_cleanup(ctx, &namespace, obj.spec.credentials.as_ref()).await?;
    let Some(remote) = ctx
        .grafana
        .get_stack(&creds.token, slug)
        .await?
        .filter(|s| !s.is_deleted())
    else {
        return Ok(());
    };
    let uid = obj.uid().unwrap_or_default();
    let status = obj.status.clone().unwrap_or_default();
    let adopted = status.managed && status.id == Some(remote.id);
    if desired::ownership(&remote, &uid, false) != Ownership::Owned && !adopted {
        ctx.event(
            obj,
            EventType::Normal,
            "Retained",
            "Delete",
            format!("left stack {slug} in place: this resource did not create or adopt it"),
        )
        .await;
        return Ok(());
    }
    if remote.is_delete_protected() {
        // Protection guards against deletes from elsewhere; deleting this resource with
        // `Delete` is the user asking for the stack to go.
        let lift = UpdateStack::protection(false);
        ctx.grafana.update_stack(&creds.token, slug, &lift).await?;
        ctx.event(
            obj,
            EventType::Normal,
            "ProtectionLifted",
            "Delete",
            format!(
                "turned off delete protection of stack {slug} to delete it (deletionPolicy Delete)"
            ),
        )
        .await;
    }
    ctx.grafana
        .delete_stack(&creds.token, slug)
        .await
        .map_err(|source| match source.status() {
            Some(409) => Error::DeleteBlocked {
                slug: slug.clone(),
                source,
            },
            _ => Error::Grafana(source),
        })?;
    ctx.org_stacks.invalidate(&remote.org_slug);
    ctx.event(
        obj,
        EventType::Normal,
        "Deleted",
        "Delete",
        format!("deleted stack {slug}"),
    )
    .await;
    Ok(())
}
