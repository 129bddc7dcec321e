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
    desired::{self, Ownership},
    inventory, plugins,
};
use crate::{
    controller::{
        self, Context, Error,
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

    let steady_org = desired::steady_state_org(obj, status);
    let snapshot = match steady_org {
        Some(org) => {
            let max_age = resync_interval(obj, ctx);
            let stacks = ctx
                .org_stacks
                .get(org, max_age, || ctx.grafana.list_stacks(&creds.token, org))
                .await?;
            stacks
                .iter()
                .find(|s| s.slug == *slug && !s.is_deleted())
                .cloned()
        }
        None => None,
    };
    let existing = match snapshot {
        Some(stack) => Some(stack),
        None => read_stack(ctx, &creds, slug).await?,
    };
    let mut remote = match existing {
        None => {
            // The first attempt is what counts; later ones (a reserved slug, say) write nothing.
            let now = Timestamp::now().to_string();
            record_before_call(ctx, obj, status, |s| {
                s.create_attempted_at.get_or_insert_with(|| now.clone());
            })
            .await?;
            create(obj, ctx, &creds, &uid).await?
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
    let update = desired::drift(&obj.spec, &uid, &remote, was_ready);
    let updated = !update.is_empty();
    if updated {
        remote = update_stack(obj, ctx, &creds, &update).await?;
    }
    desired::record_remote(status, &remote);

    if !was_ready && !ctx.grafana.stack_ready(&creds.token, remote.id).await? {
        let since = provisioning_since(status);
        return Ok(Outcome {
            readiness: Readiness::not_ready(
                Reason::StackProvisioning,
                format!("waiting for stack {slug} to become ready"),
            ),
            action: requeue::after(desired::readiness_poll_delay(since)),
        });
    }
    if !was_ready {
        // Protection goes on only now, so that a stack that never became ready can still be
        // deleted.
        let protect = desired::protection_drift(&obj.spec, &remote);
        if !protect.is_empty() {
            remote = update_stack(obj, ctx, &creds, &protect).await?;
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

/// Sends `update` and says so in an event.
async fn update_stack(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    update: &UpdateStack,
) -> Result<Stack, Error> {
    let slug = &obj.spec.slug;
    let remote = ctx.grafana.update_stack(&creds.token, slug, update).await?;
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

/// Applies `mark` to the pass's status and writes it to the API server before a grafana.com
/// call whose effect must survive a crash right after it. The write starts from the API
/// server's status, not the watch cache's, so nothing recorded earlier is lost.
pub(super) async fn record_before_call(
    ctx: &Context,
    obj: &GrafanaStack,
    status: &mut GrafanaStackStatus,
    mark: impl Fn(&mut GrafanaStackStatus),
) -> Result<(), Error> {
    let fresh = controller::cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|stack| stack.status);
    let mut marked = fresh.clone().unwrap_or_default();
    mark(&mut marked);
    mark(status);
    status::write_if_changed(ctx, obj, fresh.as_ref(), &marked).await
}

/// Reads the stack by slug; a deleted stack counts as absent. grafana.com answers 403 for a
/// slug that another organisation owns: the create then gets the definitive 409 "That url is
/// not available".
async fn read_stack(
    ctx: &Context,
    creds: &Credentials,
    slug: &str,
) -> Result<Option<Stack>, Error> {
    match ctx.grafana.get_stack(&creds.token, slug).await {
        Ok(stack) => Ok(stack.filter(|s| !s.is_deleted())),
        Err(err) if err.status() == Some(403) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Creates the stack; on a failure that may hide a committed create, reads it back.
async fn create(
    obj: &GrafanaStack,
    ctx: &Context,
    creds: &Credentials,
    uid: &str,
) -> Result<Stack, Error> {
    let slug = &obj.spec.slug;
    let request = desired::create_request(&obj.spec, uid);
    match ctx.grafana.create_stack(&creds.token, &request).await {
        Ok(stack) => {
            ctx.org_stacks.invalidate(&stack.org_slug);
            ctx.event(
                obj,
                EventType::Normal,
                "Created",
                "Create",
                format!("created stack {slug}"),
            )
            .await;
            Ok(stack)
        }
        Err(err) => {
            if let Some(wait) = err.deleted_recently_wait() {
                return Err(Error::SlugRecentlyDeleted {
                    slug: slug.clone(),
                    wait,
                });
            }
            if err.is_slug_unavailable() {
                return Err(Error::SlugUnavailable {
                    slug: slug.clone(),
                    source: Some(err),
                });
            }
            let maybe_committed = err.status().is_none_or(|code| code >= 500);
            if !maybe_committed {
                return Err(err.into());
            }
            // The create may have gone through: adopt the stack only if it carries our label.
            let readback = ctx.grafana.get_stack(&creds.token, slug).await?;
            match readback.filter(|s| !s.is_deleted()) {
                Some(stack) if desired::ownership(&stack, uid, false) == Ownership::Owned => {
                    ctx.event(
                        obj,
                        EventType::Normal,
                        "Created",
                        "Create",
                        format!(
                            "created stack {slug} (confirmed by reading it back after an error)"
                        ),
                    )
                    .await;
                    Ok(stack)
                }
                _ => Err(err.into()),
            }
        }
    }
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
