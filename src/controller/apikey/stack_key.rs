//! Stack API keys (`/instances/<slug>/api/auth/keys`): created once the stack is Ready,
//! each with a unique name, renewed `rotation.renewBefore` ahead of expiry.
//!
//! The API can neither list nor revoke stack keys. A key whose token is lost therefore
//! cannot be cleaned up: it stays valid until its `secondsToLive` runs out (forever without
//! one). Rotation leaves the previous key valid until its own expiry, which gives consumers
//! of the Secret a grace period to pick up the new token.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::EventType;
use tracing::info;

use super::{
    desired::{self, StackKeyNeed},
    outcome::{self, Outcome},
};
use crate::{
    controller::{
        Context, Error,
        conditions::{Readiness, Reason},
        credentials::Credentials,
        requeue::{self, jittered},
        secret::{self, KeyRecord, Layout, Material, StackFacts},
        secret_write::{Prepared, SecretWrite},
    },
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
    grafana::{CreatedStackApiKey, GrafanaClient, Token},
};

/// Creates a stack key named `<base>-<random suffix>` and returns it with the identity to
/// record on the Secret.
pub async fn create(
    grafana: &GrafanaClient,
    token: &Token,
    stack: &StackFacts,
    base: &str,
    role: crate::crd::ApiKeyRole,
    seconds_to_live: Option<i64>,
) -> Result<(CreatedStackApiKey, KeyRecord), Error> {
    let name = desired::stack_key_name(base, rand::random::<u32>());
    let ttl = seconds_to_live
        .filter(|s| *s > 0)
        .and_then(|s| u64::try_from(s).ok());
    let created_at = desired::whole_seconds(Timestamp::now());
    let created = grafana
        .create_stack_api_key(token, &stack.slug, &name, desired::grafana_role(role), ttl)
        .await
        .map_err(|err| Error::from_api_key_call(err, true))?;
    let record = KeyRecord {
        name: created.name.clone(),
        id: created.id.to_string(),
        created_at,
        expires_at: desired::expires_at(created_at, seconds_to_live),
        stack_id: stack.id,
    };
    Ok((created, record))
}

pub(super) async fn converge(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    creds: &Credentials,
    stack: &StackFacts,
    prepared: &Prepared,
    status: &mut GrafanaCloudApiKeyStatus,
) -> Result<Outcome, Error> {
    let org = stack
        .org_slug
        .clone()
        .or_else(|| creds.org_slug.clone())
        .unwrap_or_default();
    status.org_slug = Some(org.clone()).filter(|s| !s.is_empty());
    status.stack_slug = Some(stack.slug.clone());
    let base = desired::base_name(obj);
    let renew_before = desired::renew_before(obj)?;
    prepared.check_template(&org, Some(stack), &base, Layout::StackKey)?;

    let stored_token = prepared.owned.as_ref().and_then(secret::stored_token);
    let stored = prepared.owned.as_ref().and_then(secret::stored_record);
    let now = Timestamp::now();
    let need = desired::stack_key_need(
        stored.as_ref(),
        stored_token.is_some(),
        stack.id,
        renew_before,
        now,
    );

    let (record, write) = match (need, stored_token, stored) {
        (None, Some(token), Some(record)) => {
            let material = material(&token, &org, &record, stack);
            let write = prepared.write(ctx, &material).await?;
            (record, write)
        }
        (need, ..) => {
            if let Some(waiting) = outcome::namespace_terminating(ctx, &prepared.namespace).await {
                return Ok(waiting);
            }
            let last_created = obj
                .status
                .as_ref()
                .and_then(|s| s.created_at.as_deref())
                .and_then(|at| at.parse().ok());
            if let Some(at) = desired::replacement_not_before(last_created, now) {
                return Ok(paced(at, now));
            }
            // Stack keys cannot be revoked: a key whose Secret would be refused must never
            // be created.
            prepared
                .dry_run(ctx, &org, Some(stack), &base, Layout::StackKey)
                .await?;
            let need = need.unwrap_or(StackKeyNeed::First);
            let (created, record) = create(
                &ctx.grafana,
                &creds.token,
                stack,
                &base,
                obj.spec.role,
                obj.spec.seconds_to_live,
            )
            .await?;
            // The Secret is the only copy of the token: write it before anything else.
            let write = prepared
                .write(ctx, &material(&created.token, &org, &record, stack))
                .await?;
            info!(key = %record.name, stack = %stack.slug, id = %record.id, ?need, "created stack API key");
            announce(ctx, obj, need, &record, &stack.slug).await;
            (record, write)
        }
    };
    if write == SecretWrite::Updated && need.is_none() {
        ctx.event(
            obj,
            EventType::Normal,
            "SecretUpdated",
            "Update",
            format!("updated Secret {}", prepared.name),
        )
        .await;
    }

    let renew_at = desired::renew_at(&record, renew_before);
    desired::record_status(status, &record, renew_before.and(renew_at));
    let resync = jittered(ctx.config.resync_interval, 0.1);
    Ok(Outcome {
        readiness: Readiness::ready(format!(
            "stack API key {} of stack {} is in the Secret{}",
            record.name,
            stack.slug,
            record
                .expires_at
                .map(|at| format!("; it expires at {at}"))
                .unwrap_or_default()
        )),
        action: requeue::after(requeue(now, renew_at, resync)),
    })
}

/// The last key was created too recently to be replaced yet: wait until `at`.
fn paced(at: Timestamp, now: Timestamp) -> Outcome {
    Outcome {
        readiness: Readiness::not_ready(
            Reason::ReplacementDelayed,
            format!(
                "stack keys cannot be revoked, so a resource creates at most one every {}s; \
                 the next one is created at {at}",
                desired::MIN_KEY_AGE.as_secs()
            ),
        ),
        action: requeue::after(desired::requeue_after(now, Some(at), desired::MIN_KEY_AGE)),
    }
}

fn requeue(now: Timestamp, renew_at: Option<Timestamp>, resync: Duration) -> Duration {
    desired::requeue_after(now, renew_at, resync)
}

fn material<'a>(
    token: &'a Token,
    org: &'a str,
    record: &'a KeyRecord,
    stack: &'a StackFacts,
) -> Material<'a> {
    Material {
        token,
        org_slug: org,
        key: record,
        stack: Some(stack),
        layout: Layout::StackKey,
    }
}

async fn announce(
    ctx: &Context,
    obj: &GrafanaCloudApiKey,
    need: StackKeyNeed,
    record: &KeyRecord,
    slug: &str,
) {
    let name = &record.name;
    let (reason, note) = match need {
        StackKeyNeed::First => (
            "Created",
            format!("created stack API key {name} in stack {slug}"),
        ),
        StackKeyNeed::Renew => (
            "Rotated",
            format!(
                "rotated to stack API key {name} in stack {slug}; the previous key stays valid \
                 until it expires"
            ),
        ),
        StackKeyNeed::TokenLost => (
            "KeyRecreated",
            format!(
                "created stack API key {name} in stack {slug} because the Secret lost its token; \
                 the previous key cannot be revoked and stays valid until it expires"
            ),
        ),
        StackKeyNeed::StackReplaced => (
            "KeyRecreated",
            format!("created stack API key {name} because stack {slug} was replaced"),
        ),
    };
    ctx.event(obj, EventType::Normal, reason, "Create", note)
        .await;
}
