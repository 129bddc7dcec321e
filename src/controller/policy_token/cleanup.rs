//! Deleting a GrafanaCloudAccessPolicyToken. With `Delete`, the current token, the previous
//! one still in its overlap, and one lost in a crash are deleted at grafana.com (404 counts
//! as done); with `Retain` they stay until they expire. The Secret goes with the resource
//! through its ownerReference.

use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::remote;
use crate::{
    controller::{
        Context, Error, cluster, conditions::Reason, credentials, shell::ManagedKind, status,
    },
    crd::{DeletionPolicy, GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken},
};

pub async fn cleanup(obj: &GrafanaCloudAccessPolicyToken, ctx: &Context) -> Result<Action, Error> {
    let action = release(obj, ctx).await?;
    ctx.metrics.forget(
        GrafanaCloudAccessPolicyToken::KIND,
        &obj.uid().unwrap_or_default(),
    );
    ctx.metrics.set_key_expiry(
        GrafanaCloudAccessPolicyToken::KIND,
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        None,
    );
    Ok(action)
}

async fn release(obj: &GrafanaCloudAccessPolicyToken, ctx: &Context) -> Result<Action, Error> {
    // The previous token may be recorded in a status write the watch cache has not seen.
    let current = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|t| t.status)
        .or_else(|| obj.status.clone())
        .unwrap_or_default();
    let mut tokens: Vec<(Option<String>, String)> = Vec::new();
    if let (Some(id), Some(name)) = (&current.token_id, &current.token_name) {
        tokens.push((Some(id.clone()), name.clone()));
    }
    if let Some(previous) = &current.previous {
        tokens.push((Some(previous.token_id.clone()), previous.token_name.clone()));
    }
    if let Some(pending) = current
        .pending_name
        .as_ref()
        .filter(|p| current.token_name.as_ref() != Some(*p))
    {
        tokens.push((None, pending.clone()));
    }
    let Some(region) = current.region.clone().filter(|_| !tokens.is_empty()) else {
        return Ok(Action::await_change());
    };
    if obj.spec.deletion_policy == DeletionPolicy::Retain {
        let names: Vec<&str> = tokens.iter().map(|(_, n)| n.as_str()).collect();
        let note = format!(
            "left token(s) {} in place (deletionPolicy Retain)",
            names.join(", ")
        );
        ctx.event(obj, EventType::Normal, "Retained", "Delete", note)
            .await;
        return Ok(Action::await_change());
    }
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let policy = cluster::get::<GrafanaCloudAccessPolicy>(
        ctx.cluster.as_ref(),
        Some(&namespace),
        &obj.spec.policy_ref,
    )
    .await?;
    let Some(policy) = policy else {
        // Its policy is gone: deleted at grafana.com with its tokens, or retained, and then
        // its credentials are not known here.
        let note = format!(
            "GrafanaCloudAccessPolicy {} is gone, so its tokens were deleted with it (or are \
             retained with it); nothing left to delete",
            obj.spec.policy_ref
        );
        ctx.event(obj, EventType::Normal, "Released", "Delete", note)
            .await;
        return Ok(Action::await_change());
    };
    let reference = policy.spec.credentials.clone();
    let creds = credentials::resolve_for_cleanup(ctx, &namespace, reference.as_ref()).await?;
    for (id, name) in tokens {
        let id = match id {
            Some(id) => Some(id),
            None => remote::find_fresh(ctx, &creds, &region, &name)
                .await?
                .map(|t| t.id),
        };
        let Some(id) = id else { continue };
        if let Err(err) = ctx
            .grafana
            .delete_policy_token(&creds.token, &region, &id, &name)
            .await
        {
            let err = Error::from(err);
            let message = format!(
                "token {name} could not be deleted yet: {}; the operator keeps retrying. Set \
                 spec.deletionPolicy: Retain to remove the resource and keep the token",
                err.condition_message()
            );
            status::report_pending_delete(ctx, obj, obj.status.as_ref(), Reason::Deleting, message)
                .await?;
            return Err(err);
        }
        ctx.event(
            obj,
            EventType::Normal,
            "Deleted",
            "Delete",
            format!("deleted token {name} in region {region}"),
        )
        .await;
    }
    if let Ok(org) = creds.require_org_slug() {
        ctx.org_tokens
            .invalidate(&crate::controller::policy::remote::scope_key(org, &region));
    }
    Ok(Action::await_change())
}
