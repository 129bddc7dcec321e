//! Converging a GrafanaStack: read before create, adopt only what is ours or explicitly
//! adoptable, correct drift, wait for readiness, restart and remove data sources on request.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};
use tracing::info;

use super::{
    create,
    desired::{self, Ownership},
    inventory, plugins,
    record::record_before_call,
};
use crate::{
    controller::{
        Context, Error,
        conditions::{self, Readiness, Reason},
        credentials::{self, Credentials},
        requeue::{self, jittered},
        status::{self, Outcome},
    },
    crd::{DatasourceStatus, GrafanaStack, GrafanaStackStatus},
    grafana::{Stack, UpdateStack},
};

pub async fn apply(obj: &GrafanaStack, ctx: &Context) -> Result<Action, Error> {
    let mut next = obj.status.clone().unwrap_or_default();
    let result = converge(obj, ctx, &mut next).await;
    status::finish(ctx, obj, obj.status.as_ref(), next, result).await
}

async fn converge(
    obj: &GrafanaStack,
    ctx: &Context,
    status: &mut GrafanaStackStatus,
) -> Result<Outcome, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let creds = credentials::resolve(ctx, &namespace, obj.spec.credentials.as_ref()).await?;
    let uid = obj.uid().unwrap_or_default();
    let slug = &obj.spec.slug;

    // While the stack provisions, a pass asks only for readiness. Once ready, the update that
    // turns protection on is the first read; a stack that needs none is read below.
    let (mut confirmed_ready, mut ready_seen) = (false, None);
    if desired::only_readiness_pending(obj, status)
        && let Some(id) = status.id
    {
        match ctx.grafana.stack_ready(&creds.token, id).await {
            Ok(false) => return Ok(provisioning(obj, status)),
            Ok(true) => {
                confirmed_ready = true;
                ready_seen = newly_ready(obj, ctx, &creds, id, &uid).await?;
            }
            // Gone meanwhile: the full pass below finds out what happened.
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(err.into()),
        }
    }

    let steady_org = desired::steady_state_org(obj, status);
    let snapshot = match (&ready_seen, steady_org) {
        (Some(stack), _) => Some(stack.clone()),
        (None, Some(org)) => {
            let max_age = resync_interval(obj, ctx);
            create::listed(&ctx.org_stacks, ctx, &creds, org, slug, max_age).await?
        }
        (None, None) => None,
    };
    let existing = match snapshot {
        Some(stack) => Some(stack),
        None => match creds
            .org_slug
            .as_deref()
            .filter(|_| desired::never_created(status))
        {
            Some(org) => {
                let resync = resync_interval(obj, ctx);
                create::listed_before_create(obj, ctx, &creds, org, resync).await?
            }
            None => create::read_stack(ctx, &creds, slug).await?,
        },
    };
    let created = existing.is_none();
    let mut remote = match existing {
        None => {
            // The first attempt is what counts; later ones (a reserved slug, say) write nothing.
            let now = Timestamp::now().to_string();
            record_before_call(ctx, obj, status, |s| {
                s.create_attempted_at.get_or_insert_with(|| now.clone());
            })
            .await?;
            create::create(obj, ctx, &creds, &uid).await?
        }
        Some(stack) => {
            match desired::ownership(&stack, &uid, desired::adopt_requested(obj.annotations())) {
                Ownership::Owned => stack,
                Ownership::Adoptable => {
                    if !status.managed {
                        ctx.event(
                            obj,
                            EventType::Normal,
                            "Adopted",
                            "Adopt",
                            format!("adopted existing stack {slug}"),
                        )
                        .await;
                    }
                    stack
                }
                Ownership::Foreign => {
                    status.managed = false;
                    return Err(Error::SlugNotAdopted { slug: slug.clone() });
                }
            }
        }
    };
    status.managed = true;

    let stack_changed = status.id != Some(remote.id);
    let was_ready = conditions::is_ready(&status.conditions) && !stack_changed;
    let ready_now = was_ready || (confirmed_ready && !stack_changed);
    let update = desired::drift(&obj.spec, &uid, &remote, was_ready);
    let updated = !update.is_empty();
    if updated {
        remote = update_stack(obj, ctx, &creds, slug, &update).await?;
    }
    desired::record_remote(status, &remote);

    // A stack this pass created is still provisioning: the first readiness poll waits for
    // the first poll delay instead of asking at once.
    if !ready_now && (created || !ctx.grafana.stack_ready(&creds.token, remote.id).await?) {
        return Ok(provisioning(obj, status));
    }
    if !was_ready {
        // Protection goes on only now, so that a stack that never became ready can still be
        // deleted.
        let protect = desired::protection_drift(&obj.spec, &remote);
        if !protect.is_empty() {
            remote = update_stack(obj, ctx, &creds, slug, &protect).await?;
            desired::record_remote(status, &remote);
        }
    }

    if let Some(value) = desired::pending_restart(obj.annotations(), status) {
        // At most once per value: a crash or a stale cache after the call must not restart
        // the stack again, so the value is recorded first.
        record_before_call(ctx, obj, status, |s| {
            s.last_restart_request = Some(value.to_string());
        })
        .await?;
        ctx.grafana.restart_stack(&creds.token, slug).await?;
        info!(slug, "restarted stack");
        ctx.event(
            obj,
            EventType::Normal,
            "Restarted",
            "Restart",
            format!("restarted stack {slug} (request {value})"),
        )
        .await;
    }

    let generation_changed = obj.metadata.generation != status.observed_generation;
    if stack_changed || desired::datasources_stale(&obj.spec, status, generation_changed) {
        sync_datasources(obj, ctx, &creds, status).await?;
    }

    let changed = stack_changed || updated || !was_ready || generation_changed;
    let interval = inventory_interval(obj, ctx);
    if inventory::due(obj, status, changed, interval, Timestamp::now()) {
        inventory::refresh(obj, ctx, &creds, status).await?;
    }
    let mut message = format!("stack {slug} is ready at {}", remote.url);
    if let Some(note) = plugins::left_alone(&obj.spec.plugins, &status.plugins) {
        message = format!("{message}; {note}");
    }

    Ok(Outcome {
        readiness: Readiness::ready(message),
        action: requeue::after(jittered(resync_interval(obj, ctx), 0.1)),
    })
}

/// Sends `update` to the stack at `target` (its slug, or its id) and says so in an event.
async fn update_stack(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    target: &str,
    update: &UpdateStack,
) -> Result<Stack, Error> {
    let slug = &obj.spec.slug;
    let remote = ctx
        .grafana
        .update_stack(&creds.token, target, update)
        .await?;
    ctx.org_stacks.invalidate(&remote.org_slug);
    let what = match update.delete_protection {
        Some(true) if update.is_protection_only() => "turned on delete protection of",
        Some(false) if update.is_protection_only() => "turned off delete protection of",
        _ => "updated",
    };
    ctx.event(
        obj,
        EventType::Normal,
        "Updated",
        "Update",
        format!("{what} stack {slug} to match spec"),
    )
    .await;
    Ok(remote)
}

/// The outcome of a pass that finds the stack still provisioning.
fn provisioning(obj: &GrafanaStack, status: &GrafanaStackStatus) -> Outcome {
    let since = provisioning_since(status);
    Outcome {
        readiness: Readiness::not_ready(
            Reason::StackProvisioning,
            format!("waiting for stack {} to become ready", obj.spec.slug),
        ),
        action: requeue::after(desired::readiness_poll_delay(since)),
    }
}

/// The stack this resource created has just become ready. When protection must go on, that
/// update, sent by id so that it reaches this very stack, is also the pass's read of it; the
/// answer counts only if it carries this resource's ownership label.
async fn newly_ready(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    id: u64,
    uid: &str,
) -> Result<Option<Stack>, Error> {
    if !obj.spec.delete_protection {
        return Ok(None);
    }
    let protect = UpdateStack::protection(true);
    let remote = update_stack(obj, ctx, creds, &id.to_string(), &protect).await?;
    Ok(
        (desired::ownership(&remote, uid, false) == Ownership::Owned && !remote.is_deleted())
            .then_some(remote),
    )
}

/// Lists the stack's provisioned data sources, deleting those the spec asks to remove.
async fn sync_datasources(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    status: &mut GrafanaStackStatus,
) -> Result<(), Error> {
    let slug = &obj.spec.slug;
    let mut kept = Vec::new();
    for ds in ctx.grafana.list_datasources(&creds.token, slug).await? {
        if obj.spec.remove_datasources.contains(&ds.name) {
            ctx.grafana
                .delete_datasource(&creds.token, slug, ds.id)
                .await?;
            ctx.event(
                obj,
                EventType::Normal,
                "DatasourceRemoved",
                "Delete",
                format!("removed data source {} from stack {slug}", ds.name),
            )
            .await;
        } else {
            kept.push(DatasourceStatus {
                id: ds.id,
                name: ds.name,
                type_: ds.kind,
            });
        }
    }
    status.datasources = kept;
    Ok(())
}

/// How long the stack has been waiting for readiness, from the Ready condition's last flip.
fn provisioning_since(status: &GrafanaStackStatus) -> Duration {
    conditions::ready_condition(&status.conditions)
        .filter(|c| c.status == "False" && c.reason == Reason::StackProvisioning.as_str())
        .and_then(|c| {
            Timestamp::now()
                .duration_since(c.last_transition_time.0)
                .try_into()
                .ok()
        })
        .unwrap_or_default()
}

/// How often a Ready stack's plugins and connections are read again: the operator's
/// inventory interval, and never more often than the stack's resync.
fn inventory_interval(obj: &GrafanaStack, ctx: &Context) -> Duration {
    ctx.config.inventory_interval.max(resync_interval(obj, ctx))
}

fn resync_interval(obj: &GrafanaStack, ctx: &Context) -> Duration {
    let interval = obj
        .spec
        .resync_interval
        .as_deref()
        .and_then(requeue::parse)
        .unwrap_or(ctx.config.resync_interval);
    requeue::resync(interval)
}
