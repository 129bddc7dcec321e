//! Deleting a token resource. With `Delete`, the current token, the previous one still in
//! its overlap, and one lost in a crash (the pending name, or the first name of a resource
//! with no serial yet) are deleted (404 counts as done); with `Retain` they stay until they
//! expire. The Secret goes with the resource through its ownerReference.

use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{Issuer, TokenKind, desired};
use crate::{
    controller::{Context, Error, cluster, conditions::Reason, status},
    crd::DeletionPolicy,
};

pub async fn cleanup<K: TokenKind>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let action = release(obj, ctx).await?;
    ctx.metrics.forget(K::KIND, &obj.uid().unwrap_or_default());
    ctx.metrics.set_key_times(
        K::KIND,
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        None,
        None,
    );
    Ok(action)
}

async fn release<K: TokenKind>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    // The previous token may be recorded in a status write the watch cache has not seen.
    let current = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|t| t.token_status().cloned())
        .or_else(|| obj.token_status().cloned())
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
    // Without a serial, a pass may have made the first token and ended before any status
    // write: it is looked for by name, once grafana.com can be asked.
    let unrecorded_first = current.serial.is_none().then(|| desired::first_name(obj));
    if tokens.is_empty() && unrecorded_first.is_none() {
        return Ok(Action::await_change());
    }
    if obj.deletion_policy() == DeletionPolicy::Retain {
        if tokens.is_empty() {
            return Ok(Action::await_change());
        }
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
    let issuer = match obj.cleanup_source(ctx, &namespace, &current).await? {
        Ok(issuer) => issuer,
        // Nothing is known to exist, and nothing can be looked up.
        Err(_) if tokens.is_empty() => return Ok(Action::await_change()),
        Err(note) => {
            ctx.event(obj, EventType::Normal, "Released", "Delete", note)
                .await;
            return Ok(Action::await_change());
        }
    };
    tokens.extend(unrecorded_first.map(|name| (None, name)));
    let result = delete_all(obj, ctx, &issuer, tokens).await;
    issuer.forget_cached(ctx);
    result.map(|()| Action::await_change())
}

async fn delete_all<K: TokenKind>(
    obj: &K,
    ctx: &Context,
    issuer: &K::Issuer,
    tokens: Vec<(Option<String>, String)>,
) -> Result<(), Error> {
    for (id, name) in tokens {
        let id = match id {
            Some(id) => Some(id),
            None => issuer.find_fresh(ctx, &name).await?,
        };
        let Some(id) = id else { continue };
        if let Err(err) = issuer.delete(ctx, &id, &name).await {
            let err = Error::from(err);
            let message = format!(
                "token {name} could not be deleted yet: {}; the operator keeps retrying. Set \
                 spec.deletionPolicy: Retain to remove the resource and keep the token",
                err.condition_message()
            );
            status::report_pending_delete(ctx, obj, obj.token_status(), Reason::Deleting, message)
                .await?;
            return Err(err);
        }
        let place = issuer
            .region()
            .map(|r| format!(" in region {r}"))
            .unwrap_or_default();
        ctx.event(
            obj,
            EventType::Normal,
            "Deleted",
            "Delete",
            format!("deleted token {name}{place}"),
        )
        .await;
    }
    Ok(())
}
