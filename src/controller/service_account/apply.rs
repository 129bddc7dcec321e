//! Converging a GrafanaStackServiceAccount: wait for its stack, then adopt the account this
//! resource claimed or create it through the grafana.com proxy. An account of that name
//! this resource did not claim is never touched. Everything ends in one status write.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{desired, remote};
use crate::{
    controller::{
        Context, Error,
        claims::whole_seconds,
        cluster,
        conditions::{Readiness, Reason},
        credentials::{self, Credentials},
        refs,
        requeue::{self, SLOW_RETRY, jittered},
        status::{self, Outcome},
    },
    crd::{GrafanaStackServiceAccount, GrafanaStackServiceAccountStatus},
    grafana::ServiceAccount,
};

/// How often an account looks at its stack again while it is missing or not Ready. The
/// GrafanaStack watch usually triggers the reconcile much sooner.
const STACK_WAIT: Duration = Duration::from_secs(60);

pub async fn apply(obj: &GrafanaStackServiceAccount, ctx: &Context) -> Result<Action, Error> {
    let mut next = obj.status.clone().unwrap_or_default();
    let result = converge(obj, ctx, &mut next).await;
    status::finish(ctx, obj, obj.status.as_ref(), next, result).await
}

/// Where the account lives.
struct Place<'a> {
    creds: &'a Credentials,
    org: &'a str,
    stack: &'a str,
}

async fn converge(
    obj: &GrafanaStackServiceAccount,
    ctx: &Context,
    status: &mut GrafanaStackServiceAccountStatus,
) -> Result<Outcome, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let creds = credentials::resolve(ctx, &namespace, obj.spec.credentials.as_ref()).await?;
    let org = creds.require_org_slug()?.to_string();
    let stack = match refs::ready_stack(ctx, &namespace, &obj.spec.stack_ref).await? {
        Ok(stack) => stack,
        Err(message) => {
            return Ok(Outcome::waiting(
                Reason::StackNotReady,
                message,
                requeue::after(STACK_WAIT),
            ));
        }
    };
    let slug = stack.spec.slug.clone();
    status.stack_slug = Some(slug.clone());
    let name = desired::account_name(obj);
    status.name = Some(name.clone());
    let place = Place {
        creds: &creds,
        org: &org,
        stack: &slug,
    };

    let found = remote::find(ctx, &creds, &org, &slug, &name).await?;
    let account = match found {
        Some(found) => {
            if !owned(ctx, obj, &found, status).await? {
                status.id = None;
                status.login = None;
                status.claimed_at = None;
                return Ok(conflict(&name, &slug));
            }
            if status.id != Some(found.id) {
                ctx.event(
                    obj,
                    EventType::Normal,
                    "Adopted",
                    "Create",
                    format!(
                        "found service account {name} created by an earlier attempt; adopted it"
                    ),
                )
                .await;
            }
            found
        }
        None => {
            if refs::namespace_terminating(ctx, &namespace).await {
                return Ok(Outcome::waiting(
                    Reason::Deleting,
                    format!("namespace {namespace} is being deleted; no account is created"),
                    Action::await_change(),
                ));
            }
            match create(ctx, obj, &place, &name, status).await? {
                Some(account) => account,
                None => return Ok(conflict(&name, &slug)),
            }
        }
    };
    status.id = Some(account.id);
    status.login = Some(account.login.clone()).filter(|l| !l.is_empty());
    let drift = desired::drift(obj, &account);
    let mut message = format!("service account {name} is in stack {slug}");
    if !drift.is_empty() {
        message.push_str(&format!(
            "; in Grafana {}, and the grafana.com proxy does not allow changing it: recreate \
             the resource to apply the spec",
            drift.join(" and ")
        ));
    }
    Ok(Outcome {
        readiness: Readiness::ready(message),
        action: requeue::after(jittered(ctx.config.resync_interval, 0.1)),
    })
}

/// Whether `found` is this resource's own: the id status records, or the claim the API
/// server holds (never the watch cache's).
async fn owned(
    ctx: &Context,
    obj: &GrafanaStackServiceAccount,
    found: &ServiceAccount,
    status: &GrafanaStackServiceAccountStatus,
) -> Result<bool, Error> {
    if status.id == Some(found.id) {
        return Ok(true);
    }
    let fresh = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|a| a.status);
    Ok(fresh.is_some_and(|s| s.claimed_at.is_some() && s.id.is_none()))
}

/// Records the claim, then creates the account. `None`: the name was taken by an account
/// that is not this resource's.
async fn create(
    ctx: &Context,
    obj: &GrafanaStackServiceAccount,
    place: &Place<'_>,
    name: &str,
    status: &mut GrafanaStackServiceAccountStatus,
) -> Result<Option<ServiceAccount>, Error> {
    let fresh = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|a| a.status);
    let mut claimed = fresh.clone().unwrap_or_default();
    let at = whole_seconds(Timestamp::now()).to_string();
    claimed.claimed_at = Some(at.clone());
    // A claim is on a new account: an id recorded before is of one that is gone.
    claimed.id = None;
    claimed.login = None;
    claimed.name = Some(name.to_string());
    claimed.stack_slug = Some(place.stack.to_string());
    status::write_if_changed(ctx, obj, fresh.as_ref(), &claimed).await?;
    status.claimed_at = Some(at);
    status.id = None;
    let created = ctx
        .grafana
        .create_service_account(
            &place.creds.token,
            place.stack,
            name,
            obj.spec.role.as_str(),
            desired::disabled(obj),
        )
        .await;
    ctx.stack_accounts
        .invalidate(&remote::stack_key(place.org, place.stack));
    match created {
        Ok(account) => {
            ctx.event(
                obj,
                EventType::Normal,
                "Created",
                "Create",
                format!("created service account {name} in stack {}", place.stack),
            )
            .await;
            Ok(Some(account))
        }
        Err(err) if err.is_name_taken() => {
            // Grafana said the name existed before this create: not this resource's.
            status.claimed_at = None;
            Ok(None)
        }
        Err(err) if err.is_transient() => {
            // Maybe created before the answer was lost: look again by name.
            match remote::find_fresh(ctx, place.creds, place.stack, name).await? {
                Some(found) => Ok(Some(found)),
                None => Err(err.into()),
            }
        }
        Err(err) => Err(err.into()),
    }
}

fn conflict(name: &str, stack: &str) -> Outcome {
    Outcome::waiting(
        Reason::NameConflict,
        format!(
            "a service account named {name} already exists in stack {stack} and was not \
             created by this resource; it is left alone. Set spec.name to another name"
        ),
        requeue::after(SLOW_RETRY),
    )
}
