//! Converging a token resource: refuse a foreign Secret before any grafana.com call, wait
//! for what the token belongs to (and the template's stack), then keep, rotate or issue the
//! token (`issue.rs`). Everything ends in one status write.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{
    Issuer, Source, TokenKind,
    desired::{self, TokenPlan},
    issue::{self, Issue},
};
use crate::{
    controller::{
        Context, Error, cluster,
        conditions::{Readiness, Reason},
        refs, requeue,
        secret::{self, Existing, Material},
        secret_write::{self, Prepared, SecretWrite},
        status::{self, Outcome},
    },
    crd::TokenStatus,
};

/// How often a token looks at what it depends on again while waiting; their watches
/// usually trigger the reconcile much sooner.
const WAIT: Duration = Duration::from_secs(60);

pub async fn apply<K: TokenKind>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    // Status carries state a pass must not lose (the previous token and when it goes, the
    // claimed serial), and the watch cache can lag behind the last pass's write: start from
    // what the API server holds.
    let current = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .map_or_else(
            || obj.token_status().cloned(),
            |fresh| fresh.token_status().cloned(),
        );
    let mut next = current.clone().unwrap_or_default();
    let result = converge(obj, ctx, &mut next).await;
    ctx.metrics.set_key_times(
        K::KIND,
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        next.expires_at.as_deref(),
        next.renew_at.as_deref(),
    );
    status::finish(ctx, obj, current.as_ref(), next, result).await
}

async fn converge<K: TokenKind>(
    obj: &K,
    ctx: &Context,
    status: &mut TokenStatus,
) -> Result<Outcome, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let secret_name = obj
        .secret_name()
        .map_or_else(|| obj.name_any(), str::to_string);
    status.secret_name = Some(secret_name.clone());
    let uid = obj.uid().unwrap_or_default();
    let owned = match secret_write::read_existing(ctx, &namespace, &secret_name, &uid).await? {
        Existing::Foreign => {
            return Ok(Outcome::waiting(
                Reason::SecretConflict,
                secret_write::conflict_message(&secret_name),
                Action::await_change(),
            ));
        }
        Existing::Absent => None,
        Existing::Owned(secret) => Some(*secret),
    };
    let (issuer, stack) = match obj.source(ctx, &namespace).await? {
        Source::Ready { issuer, stack } => (issuer, stack),
        Source::Waiting { reason, message } => {
            return Ok(Outcome::waiting(reason, message, requeue::after(WAIT)));
        }
    };
    status.region = issuer.region().map(str::to_string);
    let timing = desired::timing(obj.lifetime()?, obj.rotation())?;
    let prepared = Prepared {
        name: secret_name,
        namespace: namespace.clone(),
        owner: obj
            .controller_owner_ref(&())
            .ok_or_else(|| Error::NoOwnerReference {
                kind: K::KIND,
                name: obj.name_any(),
            })?,
        owned,
        template: obj.secret_template().cloned().unwrap_or_default(),
        refused_before: secret_write::refused_before(&status.conditions),
    };
    let base = desired::base_name(obj);
    prepared.check_template(issuer.org(), stack.as_ref(), &base, issuer.layout())?;

    issue::delete_previous_when_due(obj, ctx, &issuer, status).await?;
    let stored_token = prepared.owned.as_ref().and_then(secret::stored_token);
    let stored = prepared.owned.as_ref().and_then(secret::stored_record);
    let alive = match (&stored, &stored_token) {
        (Some(record), Some(_)) => issuer.alive(ctx, record).await?,
        _ => false,
    };
    let now = Timestamp::now();
    let renew_at = stored.as_ref().and_then(|r| desired::renew_at(r, &timing));
    let plan = desired::plan(
        stored.as_ref(),
        stored_token.is_some(),
        alive,
        renew_at,
        now,
    );
    let (record, written) = match (plan, stored, stored_token) {
        (TokenPlan::Keep, Some(record), Some(token)) => {
            let material = Material {
                token: &token,
                org_slug: issuer.org(),
                key: &record,
                stack: stack.as_ref(),
                layout: issuer.layout(),
            };
            let written = prepared.write(ctx, &material).await?;
            (record, written)
        }
        (plan, stored, _) => {
            if refs::namespace_terminating(ctx, &namespace).await {
                return Ok(Outcome::waiting(
                    Reason::Deleting,
                    format!("namespace {namespace} is being deleted; no new token is created"),
                    Action::await_change(),
                ));
            }
            let job = Issue {
                obj,
                issuer: &issuer,
                prepared: &prepared,
                stack: stack.as_ref(),
                base: &base,
                timing: &timing,
            };
            match issue::issue(ctx, &job, plan, stored.as_ref(), status).await? {
                Ok(record) => (record, SecretWrite::Created),
                Err(outcome) => return Ok(outcome),
            }
        }
    };
    if written == SecretWrite::Updated {
        let note = format!("updated Secret {}", prepared.name);
        ctx.event(obj, EventType::Normal, "SecretUpdated", "Update", note)
            .await;
    }
    let renew_at = desired::renew_at(&record, &timing);
    status.token_id = Some(record.id.clone());
    status.token_name = Some(record.name.clone());
    status.created_at = Some(record.created_at.to_string());
    status.expires_at = record.expires_at.map(|at| at.to_string());
    status.renew_at = renew_at.map(|at| at.to_string());
    status.pending_name = None;
    let wake = [
        renew_at,
        status
            .previous
            .as_ref()
            .and_then(|p| p.delete_at.parse::<Timestamp>().ok()),
    ];
    let resync = requeue::jittered(ctx.config.resync_interval, 0.1);
    let next = wake
        .into_iter()
        .flatten()
        .map(|at| requeue::until(now, at))
        .fold(resync, Duration::min);
    Ok(Outcome {
        readiness: Readiness::ready(format!(
            "token {} is in Secret {}; created at {} (a new token can take a few minutes to \
             work)",
            record.name, prepared.name, record.created_at
        )),
        action: requeue::after(next),
    })
}
