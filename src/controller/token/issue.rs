//! Issuing a token: clean up one lost in a crash, claim the next name, create it, store it
//! in the Secret in one write, and keep the replaced one for its overlap.

use k8s_openapi::jiff::Timestamp;
use kube::{ResourceExt, runtime::events::EventType};

use super::{
    Issuer, TokenKind,
    desired::{self, Timing, TokenPlan},
};
use crate::{
    controller::{
        Context, Error,
        claims::whole_seconds,
        conditions::Reason,
        requeue::{self, SLOW_RETRY},
        secret::{KeyRecord, Material, StackFacts},
        secret_write::Prepared,
        status::{self, Outcome},
    },
    crd::{PreviousToken, TokenStatus},
};

/// Everything issuing a token needs to know.
pub struct Issue<'a, K: TokenKind> {
    pub obj: &'a K,
    pub issuer: &'a K::Issuer,
    pub prepared: &'a Prepared,
    pub stack: Option<&'a StackFacts>,
    pub base: &'a str,
    pub timing: &'a Timing,
}

/// Makes a new token and stores it. `Ok(Err(outcome))`: the name is somebody else's.
pub async fn issue<K: TokenKind>(
    ctx: &Context,
    job: &Issue<'_, K>,
    plan: TokenPlan,
    stored: Option<&KeyRecord>,
    status: &mut TokenStatus,
) -> Result<Result<KeyRecord, Outcome>, Error> {
    let Issue {
        obj,
        issuer,
        prepared,
        stack,
        base,
        timing,
    } = *job;
    let layout = issuer.layout();
    // After a refusal, a Secret the API server would still refuse costs no token; a first
    // refusal deletes the token it cost (below).
    prepared
        .dry_run_after_refusal(ctx, issuer.org(), stack, base, layout)
        .await?;
    // `status` started from what the API server held at the start of the pass (see
    // `apply`), so the last claimed serial and pending name are read from it.
    delete_lost(ctx, job, status, stored).await?;

    let first = status.serial.is_none();
    let serial = status.serial.unwrap_or(0).saturating_add(1);
    let name = desired::token_name(base, &obj.uid().unwrap_or_default(), serial);
    status.serial = Some(serial);
    status.pending_name = Some(name.clone());
    status.region = issuer.region().map(str::to_string);
    // The claim goes to the API server before the create; it always holds a new serial. The
    // first token needs none of its own: its name is the resource's (see `first_name`), and
    // the pass's status write records it.
    if !first {
        status::write_if_changed(ctx, obj, None, &*status).await?;
    }

    let now = whole_seconds(Timestamp::now());
    let expires_at = timing.lifetime.and_then(|l| desired::after(now, l));
    let mut created = issuer.create(ctx, &name, timing.lifetime, expires_at).await;
    if first && created.as_ref().is_err_and(K::Issuer::name_taken) {
        // Only a pass of this resource makes a token of its first name: one that ended
        // before any status write (a crash after the create). Its token never reached the
        // Secret: delete it and create the first token again.
        let why = "that ended before its status was written; creating it again";
        delete_found(ctx, job, &name, why).await?;
        created = issuer.create(ctx, &name, timing.lifetime, expires_at).await;
    }
    let created = match created {
        Ok(created) => created,
        Err(err) if K::Issuer::name_taken(&err) => {
            return Ok(Err(Outcome::waiting(
                Reason::NameConflict,
                format!(
                    "a token named {name} already exists and was not created by this resource; \
                     it is left alone"
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
        org_slug: issuer.org(),
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
            let revoked = issuer.delete(ctx, &created.id, &name).await;
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
async fn delete_lost<K: TokenKind>(
    ctx: &Context,
    job: &Issue<'_, K>,
    status: &TokenStatus,
    stored: Option<&KeyRecord>,
) -> Result<(), Error> {
    let Some(pending) = status.pending_name.as_deref() else {
        return Ok(());
    };
    if stored.is_some_and(|s| s.name == pending) {
        return Ok(());
    }
    let why = "whose answer never reached the Secret; creating another";
    delete_found(ctx, job, pending, why).await
}

/// Deletes the token `name` if grafana.com has it, with a `TokenRecreated` event saying
/// which earlier attempt (`why`) left it.
async fn delete_found<K: TokenKind>(
    ctx: &Context,
    job: &Issue<'_, K>,
    name: &str,
    why: &str,
) -> Result<(), Error> {
    let Some(lost) = job.issuer.find_fresh(ctx, name).await? else {
        return Ok(());
    };
    job.issuer.delete(ctx, &lost, name).await?;
    let note = format!("deleted token {name}, created by an earlier attempt {why}");
    ctx.event(job.obj, EventType::Normal, "TokenRecreated", "Create", note)
        .await;
    Ok(())
}

/// After the Secret holds the new token: keep the one it replaced for the overlap (or delete
/// it now without one), and say what happened.
async fn switch_over<K: TokenKind>(
    ctx: &Context,
    job: &Issue<'_, K>,
    plan: TokenPlan,
    stored: Option<&KeyRecord>,
    record: &KeyRecord,
    status: &mut TokenStatus,
) -> Result<(), Error> {
    let (obj, issuer) = (job.obj, job.issuer);
    let note = match (plan, stored) {
        (TokenPlan::Rotate, Some(old)) => {
            // An older overlap still running ends now: only one previous token is kept.
            if let Some(older) = status.previous.take() {
                delete(ctx, issuer, &older.token_id, &older.token_name).await?;
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
                    delete(ctx, issuer, &old.id, &old.name).await?;
                    format!(
                        "rotated: Secret {} now holds token {}; deleted {}",
                        job.prepared.name, record.name, old.name
                    )
                }
            }
        }
        (TokenPlan::Replace, Some(old)) => format!(
            "token {} no longer works (expired or deleted); Secret {} now holds token {}",
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
pub async fn delete_previous_when_due<K: TokenKind>(
    obj: &K,
    ctx: &Context,
    issuer: &K::Issuer,
    status: &mut TokenStatus,
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
    delete(ctx, issuer, &previous.token_id, &previous.token_name).await?;
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

async fn delete<I: Issuer>(ctx: &Context, issuer: &I, id: &str, name: &str) -> Result<(), Error> {
    issuer.delete(ctx, id, name).await?;
    Ok(())
}
