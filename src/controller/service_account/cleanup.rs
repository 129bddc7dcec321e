//! Deleting a GrafanaStackServiceAccount. Its tokens' resources go first (deleting the
//! account would kill their tokens under them); then, with `Delete`, the account this
//! resource created is deleted (404 counts as done); with `Retain` it stays.

use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{desired, remote};
use crate::{
    controller::{Context, Error, conditions::Reason, credentials, shell::ManagedKind, status},
    crd::{DeletionPolicy, GrafanaStackServiceAccount, GrafanaStackServiceAccountToken},
};

pub async fn cleanup(obj: &GrafanaStackServiceAccount, ctx: &Context) -> Result<Action, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let name = obj.name_any();
    status::wait_for_dependents(
        ctx,
        obj,
        obj.status.as_ref(),
        |t: &GrafanaStackServiceAccountToken| t.spec.service_account_ref == name,
    )
    .await?;
    let action = release(obj, ctx, &namespace).await?;
    ctx.metrics.forget(
        GrafanaStackServiceAccount::KIND,
        &obj.uid().unwrap_or_default(),
    );
    Ok(action)
}

async fn release(
    obj: &GrafanaStackServiceAccount,
    ctx: &Context,
    namespace: &str,
) -> Result<Action, Error> {
    let current = obj.status.clone().unwrap_or_default();
    let name = desired::account_name(obj);
    let Some(slug) = current.stack_slug.clone() else {
        return Ok(Action::await_change());
    };
    if current.id.is_none() && current.claimed_at.is_none() {
        // Never got as far as a create call: nothing to delete.
        return Ok(Action::await_change());
    }
    if obj.spec.deletion_policy == DeletionPolicy::Retain {
        ctx.event(
            obj,
            EventType::Normal,
            "Retained",
            "Delete",
            format!("left service account {name} in place (deletionPolicy Retain)"),
        )
        .await;
        return Ok(Action::await_change());
    }
    let creds =
        credentials::resolve_for_cleanup(ctx, namespace, obj.spec.credentials.as_ref()).await?;
    let id = match current.id {
        Some(id) => Some(id),
        // A create may have gone through before the crash that lost its answer.
        None => remote::find_fresh(ctx, &creds, &slug, &name)
            .await?
            .map(|a| a.id),
    };
    let Some(id) = id else {
        return Ok(Action::await_change());
    };
    let deleted = ctx
        .grafana
        .delete_service_account(&creds.token, &slug, id, &name)
        .await;
    if let Ok(org) = creds.require_org_slug() {
        ctx.stack_accounts
            .invalidate(&remote::stack_key(org, &slug));
    }
    match deleted {
        Ok(()) => {
            ctx.event(
                obj,
                EventType::Normal,
                "Deleted",
                "Delete",
                format!("deleted service account {name} in stack {slug}"),
            )
            .await;
            Ok(Action::await_change())
        }
        Err(err) => {
            let err = Error::from(err);
            let message = format!(
                "the service account {name} could not be deleted yet: {}; the operator keeps \
                 retrying. Set spec.deletionPolicy: Retain to remove the resource and keep it",
                err.condition_message()
            );
            status::report_pending_delete(ctx, obj, obj.status.as_ref(), Reason::Deleting, message)
                .await?;
            Err(err)
        }
    }
}
