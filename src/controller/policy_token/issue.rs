//! Issuing a token: clean up one lost in a crash, claim the next name, create it, store it
//! in the Secret in one write, and keep the replaced one for its overlap.

use k8s_openapi::jiff::Timestamp;
use kube::{ResourceExt, runtime::events::EventType};

use super::{
    desired::{self, Timing, TokenPlan},
    facts::PolicyFacts,
    remote,
};
use crate::{
    controller::{
        Context, Error,
        claims::whole_seconds,
        conditions::Reason,
        requeue::{self, SLOW_RETRY},
        secret::{KeyRecord, Layout, Material, StackFacts},
        secret_write::Prepared,
        status::{self, Outcome},
    },
    crd::{GrafanaCloudAccessPolicyToken, GrafanaCloudAccessPolicyTokenStatus, PreviousToken},
};

/// Everything issuing a token needs to know.
pub struct Issue<'a> {
    pub obj: &'a GrafanaCloudAccessPolicyToken,
    pub policy: &'a PolicyFacts,
    pub prepared: &'a Prepared,
    pub stack: Option<&'a StackFacts>,
    pub base: &'a str,
    pub timing: &'a Timing,
}

/// Makes a new token and stores it. `Ok(Err(outcome))`: the name is somebody else's.
pub async fn issue(
    ctx: &Context,
    job: &Issue<'_>,
    plan: TokenPlan,
    stored: Option<&KeyRecord>,
    status: &mut GrafanaCloudAccessPolicyTokenStatus,
) -> Result<Result<KeyRecord, Outcome>, Error> {
    let Issue {
        obj,
        policy,
        prepared,
        stack,
        base,
        timing,
    } = *job;
    let layout = Layout::PolicyToken {
        region: &policy.region,
    };
    // A Secret the API server would refuse costs no token.
    prepared
        .dry_run(ctx, &policy.org, stack, base, layout)
        .await?;
    // `status` started from what the API server held at the start of the pass (see
    // `apply`), so the last claimed serial and pending name are read from it.
    delete_lost(ctx, job, status, stored).await?;

    let serial = status.serial.unwrap_or(0).saturating_add(1);
    let name = desired::token_name(base, &obj.uid().unwrap_or_default(), serial);
    status.serial = Some(serial);
    status.pending_name = Some(name.clone());
    status.region = Some(policy.region.clone());
    // The claim goes to the API server before the create; it always holds a new serial.
    status::write_if_changed(ctx, obj, None, &*status).await?;

    let now = whole_seconds(Timestamp::now());
    let expires_at = timing.lifetime.and_then(|l| desired::after(now, l));
    let created = ctx
        .grafana
        .create_policy_token(
            &policy.creds.token,
            &policy.region,
            &policy.id,
            &name,
            expires_at.map(|at| at.to_string()),
        )
        .await;
    let created = match created {
        Ok(created) => created,
        Err(err) if err.status() == Some(409) && !err.is_invalid_argument() => {
            return Ok(Err(Outcome::waiting(
                Reason::NameConflict,
                format!(
                    "a token named {name} already exists at grafana.com and was not created by \
                     this resource; it is left alone"
                ),
                requeue::after(SLOW_RETRY),
            )));
        }
        Err(err) => return Err(err.into()),
    };
    let record = KeyRecord {
        name: name.clone(),
        id: created.id.clone(),
        created_at: now,
        expires_at,
        stack_id: None,
    };
    let material = Material {
        token: &created.token,
        org_slug: &policy.org,
        key: &record,
        stack,
        layout,
    };
    // The Secret is the only copy of the token: write it before anything else.
    match prepared.write(ctx, &material).await {
        Ok(_) => {}
        // The default keys, token included, were written; only the templates failed.
        Err(err @ Error::Template(_)) => return Err(err),
        Err(err) => {
            // A token whose secret cannot be stored must not stay alive.
            let revoked = ctx
                .grafana
                .delete_policy_token(&policy.creds.token, &policy.region, &created.id, &name)
                .await;
            if revoked.is_ok() {
                status.pending_name = None;
            }
            return Err(err);
        }
    }
    switch_over(ctx, job, plan, stored, &record, status).await?;
    Ok(Ok(record))
}

/// Deletes a token made by an earlier pass whose answer never reached the Secret (a crash
/// between the create and the Secret write): the pending name the API server's status holds.
async fn delete_lost(
    ctx: &Context,
    job: &Issue<'_>,
    status: &GrafanaCloudAccessPolicyTokenStatus,
    stored: Option<&KeyRecord>,
) -> Result<(), Error> {
    let Some(pending) = status.pending_name.as_deref() else {
        return Ok(());
    };
    if stored.is_some_and(|s| s.name == pending) {
        return Ok(());
    }
    let policy = job.policy;
    let Some(lost) = remote::find_fresh(ctx, &policy.creds, &policy.region, pending).await? else {
        return Ok(());
    };
    ctx.grafana
        .delete_policy_token(&policy.creds.token, &policy.region, &lost.id, &lost.name)
        .await?;
    ctx.event(
        job.obj,
        EventType::Normal,
        "TokenRecreated",
        "Create",
        format!(
            "deleted token {}, created by an earlier attempt whose answer never reached the \
             Secret; creating another",
            lost.name
        ),
    )
    .await;
    Ok(())
}

/// After the Secret holds the new token: keep the one it replaced for the overlap (or delete
/// it now without one), and say what happened.
async fn switch_over(
    ctx: &Context,
    job: &Issue<'_>,
    plan: TokenPlan,
    stored: Option<&KeyRecord>,
    record: &KeyRecord,
    status: &mut GrafanaCloudAccessPolicyTokenStatus,
) -> Result<(), Error> {
    let (obj, policy) = (job.obj, job.policy);
    let note = match (plan, stored) {
        (TokenPlan::Rotate, Some(old)) => {
            // An older overlap still running ends now: only one previous token is kept.
            if let Some(older) = status.previous.take() {
                delete(ctx, policy, &older.token_id, &older.token_name).await?;
            }
            match desired::after(record.created_at, job.timing.keep_previous) {
                Some(at) if !job.timing.keep_previous.is_zero() => {
                    status.previous = Some(PreviousToken {
                        token_id: old.id.clone(),
                        token_name: old.name.clone(),
                        delete_at: at.to_string(),
                    });
                    format!(
                        "rotated: Secret {} now holds token {}; {} keeps working until {at}",
                        job.prepared.name, record.name, old.name
                    )
                }
                _ => {
                    delete(ctx, policy, &old.id, &old.name).await?;
                    format!(
                        "rotated: Secret {} now holds token {}; deleted {}",
                        job.prepared.name, record.name, old.name
                    )
                }
            }
        }
        (TokenPlan::Replace, Some(old)) => format!(
            "token {} no longer works at grafana.com (expired or deleted); Secret {} now holds \
             token {}",
            old.name, job.prepared.name, record.name
        ),
        _ => format!(
            "created token {} in Secret {}",
            record.name, job.prepared.name
        ),
    };
    let reason = match plan {
        TokenPlan::Rotate => "Rotated",
        TokenPlan::Replace => "TokenReplaced",
        _ => "Created",
    };
    ctx.event(obj, EventType::Normal, reason, "Create", note)
        .await;
    Ok(())
}

/// Deletes the previous token once its overlap is over.
pub async fn delete_previous_when_due(
    obj: &GrafanaCloudAccessPolicyToken,
    ctx: &Context,
    policy: &PolicyFacts,
    status: &mut GrafanaCloudAccessPolicyTokenStatus,
) -> Result<(), Error> {
    let Some(previous) = status.previous.clone() else {
        return Ok(());
    };
    let due = previous
        .delete_at
        .parse::<Timestamp>()
        .map_or(true, |at| at <= Timestamp::now());
    if !due {
        return Ok(());
    }
    delete(ctx, policy, &previous.token_id, &previous.token_name).await?;
    status.previous = None;
    ctx.event(
        obj,
        EventType::Normal,
        "PreviousDeleted",
        "Delete",
        format!(
            "deleted the previous token {} after its overlap",
            previous.token_name
        ),
    )
    .await;
    Ok(())
}

async fn delete(ctx: &Context, policy: &PolicyFacts, id: &str, name: &str) -> Result<(), Error> {
    ctx.grafana
        .delete_policy_token(&policy.creds.token, &policy.region, id, name)
        .await?;
    Ok(())
}
