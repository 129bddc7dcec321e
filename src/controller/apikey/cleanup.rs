//! Deleting a GrafanaCloudApiKey. With `Delete`, an organisation key this resource created
//! is deleted at grafana.com (404 counts as success); with `Retain` it stays. Stack keys
//! cannot be revoked through the API and expire on their own. The Secret goes with the
//! resource through its ownerReference.

use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{
    claim::{self, ServerCopy},
    desired::{self, KeyKind},
};
use crate::{
    controller::{
        Context, Error,
        conditions::Reason,
        credentials::{self, Credentials},
        secret::{self, Existing},
        secret_write,
        shell::ManagedKind,
        status,
    },
    crd::{DeletionPolicy, GrafanaCloudApiKey},
};

pub async fn cleanup(obj: &GrafanaCloudApiKey, ctx: &Context) -> Result<Action, Error> {
    let action = release(obj, ctx).await?;
    ctx.metrics
        .forget(GrafanaCloudApiKey::KIND, &obj.uid().unwrap_or_default());
    ctx.metrics.set_key_times(
        GrafanaCloudApiKey::KIND,
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        None,
        None,
    );
    Ok(action)
}

async fn release(obj: &GrafanaCloudApiKey, ctx: &Context) -> Result<Action, Error> {
    let current = obj.status.clone().unwrap_or_default();
    if KeyKind::of(obj) == KeyKind::Stack {
        let note = match (&current.key_name, &current.expires_at) {
            (Some(name), Some(at)) => format!(
                "stack API key {name} cannot be revoked through the API; it expires at {at}"
            ),
            (Some(name), None) => format!(
                "stack API key {name} cannot be revoked through the API and never expires; \
                 delete it in the stack's Grafana if it must stop working"
            ),
            (None, _) => "no stack API key was recorded for this resource".to_string(),
        };
        ctx.event(obj, EventType::Normal, "Released", "Delete", note)
            .await;
        return Ok(Action::await_change());
    }

    let name = desired::base_name(obj);
    // Only a key this resource created (or was about to create) is ever deleted: one its
    // claim names (the deleting copy is newer than any claim this resource wrote; whether
    // the claim verifies is read from the API server below), or its Secret records, as for
    // a key made before claims were annotations.
    if claim::claimed_name(obj).as_deref() != Some(name.as_str())
        && !secret_records(obj, ctx, &name).await?
    {
        return Ok(Action::await_change());
    }
    if obj.spec.deletion_policy == DeletionPolicy::Retain {
        ctx.event(
            obj,
            EventType::Normal,
            "Retained",
            "Delete",
            format!("left org API key {name} in place (deletionPolicy Retain)"),
        )
        .await;
        return Ok(Action::await_change());
    }
    match delete_if_ours(obj, ctx, &name).await {
        Ok(Some(org)) => {
            ctx.event(
                obj,
                EventType::Normal,
                "Deleted",
                "Delete",
                format!("deleted org API key {name} in org {org}"),
            )
            .await;
            Ok(Action::await_change())
        }
        Ok(None) => {
            ctx.event(
                obj,
                EventType::Warning,
                "Retained",
                "Delete",
                format!(
                    "left org API key {name} in place: its claim no longer verifies under the \
                     namespace's grafana.com credentials, and the Secret does not record it"
                ),
            )
            .await;
            Ok(Action::await_change())
        }
        Err(err) => {
            let message = format!(
                "the org API key {name} could not be deleted yet: {}; the operator keeps \
                 retrying. Set spec.deletionPolicy: Retain to remove the resource and keep the key",
                err.condition_message()
            );
            status::report_pending_delete(ctx, obj, obj.status.as_ref(), Reason::Deleting, message)
                .await?;
            Err(err)
        }
    }
}

/// Deletes the org key named `name` if it is this resource's (see [`is_ours`]); returns the
/// org it was in, or `None` when it was left alone.
async fn delete_if_ours(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    name: &str,
) -> Result<Option<String>, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let creds =
        credentials::resolve_for_cleanup(ctx, &namespace, obj.spec.credentials.as_ref()).await?;
    if !is_ours(obj, ctx, &creds, name).await? {
        return Ok(None);
    }
    delete_remote(ctx, &creds, name).await.map(Some)
}

/// Whether the key named `name` is this resource's to delete: its claim, as the API server
/// holds it, verifies under the credentials, or the Secret records a key of that name (a key
/// made under credentials since replaced, or before claims were annotations).
async fn is_ours(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    creds: &Credentials,
    name: &str,
) -> Result<bool, Error> {
    let claim = ServerCopy::unread().claim(ctx, obj, &creds.token).await?;
    if claim.is_some_and(|c| c.name == name) {
        return Ok(true);
    }
    secret_records(obj, ctx, name).await
}

/// Whether the resource's own Secret records a key named `name`.
async fn secret_records(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    name: &str,
) -> Result<bool, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let uid = obj.uid().unwrap_or_default();
    let secret_name = desired::secret_name(obj);
    let existing = secret_write::read_existing(ctx, &namespace, &secret_name, &uid).await?;
    Ok(match existing {
        Existing::Owned(secret) => secret::stored_record(&secret).is_some_and(|r| r.name == name),
        Existing::Absent | Existing::Foreign => false,
    })
}

/// Deletes the org key; returns the org it was in.
async fn delete_remote(ctx: &Context, creds: &Credentials, name: &str) -> Result<String, Error> {
    let org = creds.require_org_slug()?.to_string();
    let deleted = ctx
        .grafana
        .delete_org_api_key(&creds.token, &org, name)
        .await;
    ctx.org_keys.invalidate(&org);
    deleted?;
    Ok(org)
}
