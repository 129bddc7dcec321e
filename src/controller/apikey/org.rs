//! Organisation API keys (`/orgs/<org>/api-keys`): keep the key whose token the Secret
//! holds, and replace it whenever that token is lost, so that exactly one live key exists
//! and its token is in the Secret.

use std::time::Instant;

use k8s_openapi::jiff::Timestamp;
use kube::runtime::events::EventType;
use tracing::info;

use super::{
    claim::{self, ServerCopy},
    desired::{self, KeyClaim, OrgPlan},
    outcome::{self, Outcome},
};
use crate::{
    controller::{
        Context, Error,
        conditions::{Readiness, Reason},
        credentials::Credentials,
        requeue::{self, SLOW_RETRY, jittered},
        secret::{self, KeyRecord, Layout, Material, StackFacts},
        secret_write::{Prepared, SecretWrite},
    },
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
    grafana::{ApiKeyRole, CreatedOrgApiKey, GrafanaClient, OrgApiKey, Token},
};

/// Creates the key, first deleting a same-named key when the plan says its token is lost.
/// A 404 on that delete counts as success.
pub async fn create(
    grafana: &GrafanaClient,
    token: &Token,
    org: &str,
    name: &str,
    role: ApiKeyRole,
    delete_first: bool,
) -> Result<CreatedOrgApiKey, Error> {
    let legacy = |err| Error::from_api_key_call(err, false);
    if delete_first {
        grafana
            .delete_org_api_key(token, org, name)
            .await
            .map_err(legacy)?;
    }
    grafana
        .create_org_api_key(token, org, name, role)
        .await
        .map_err(legacy)
}

/// The remote key named `name` as the organisation's snapshot list shows it: one list
/// call per organisation and resync interval, shared by all its keys. With `fresh_since`,
/// from a list that started no earlier, which the other keys then share.
async fn listed_key(
    ctx: &Context,
    token: &Token,
    org: &str,
    name: &str,
    fresh_since: Option<Instant>,
) -> Result<Option<OrgApiKey>, Error> {
    let fetch = || ctx.grafana.list_org_api_keys(token, org);
    let keys = match fresh_since {
        None => {
            ctx.org_keys
                .get(org, ctx.config.resync_interval, fetch)
                .await
        }
        Some(since) => ctx.org_keys.fresh(org, since, fetch).await,
    };
    let keys = keys.map_err(|err| Error::from_api_key_call(err, false))?;
    Ok(keys.iter().find(|k| k.name == name).cloned())
}

/// What the Secret and status know about the key, for [`desired::org_plan`].
struct Local {
    stored: Option<KeyRecord>,
    has_token: bool,
    claim: Option<KeyClaim>,
}

impl Local {
    fn plan(&self, remote: Option<&OrgApiKey>) -> OrgPlan {
        let stored = self.stored.as_ref();
        let ours = remote.is_some_and(|r| desired::owns_remote(r, stored, self.claim.as_ref()));
        desired::org_plan(remote, stored, self.has_token, ours)
    }

    /// Whether the Secret records exactly this remote key (see [`desired::records`]).
    fn recorded(&self, remote: Option<&OrgApiKey>) -> bool {
        remote.is_some_and(|r| desired::records(self.stored.as_ref(), r))
    }
}

/// Plans from the snapshot list. A plan that would replace a key or report a conflict is
/// made again from a fresh list, so stale data never replaces anything; a key created more
/// recently than the snapshot can be is kept.
async fn plan(
    ctx: &Context,
    token: &Token,
    org: &str,
    name: &str,
    local: &Local,
) -> Result<(OrgPlan, Option<OrgApiKey>), Error> {
    let asked = Instant::now();
    let cached = listed_key(ctx, token, org, name, None).await?;
    let plan = local.plan(cached.as_ref());
    let recent = local.stored.as_ref().is_some_and(|r| {
        desired::newer_than_snapshot(r, Timestamp::now(), ctx.config.resync_interval)
    });
    if cached.is_none()
        && recent
        && plan
            == (OrgPlan::Recreate {
                delete_first: false,
            })
    {
        return Ok((OrgPlan::Keep, None));
    }
    if !desired::needs_fresh_list(plan) {
        return Ok((plan, cached));
    }
    let fresh = listed_key(ctx, token, org, name, Some(asked)).await?;
    Ok((local.plan(fresh.as_ref()), fresh))
}

/// The identity recorded on the Secret for a key just created.
pub fn record(created: &CreatedOrgApiKey, now: Timestamp) -> KeyRecord {
    KeyRecord {
        name: created.name.clone(),
        id: created.id.clone(),
        created_at: desired::whole_seconds(now),
        expires_at: None,
        stack_id: None,
    }
}

pub(super) async fn converge(
    obj: &GrafanaCloudApiKey,
    ctx: &Context,
    creds: &Credentials,
    stack: Option<StackFacts>,
    prepared: &Prepared,
    status: &mut GrafanaCloudApiKeyStatus,
    server: &mut ServerCopy,
) -> Result<Outcome, Error> {
    let org = creds.require_org_slug()?.to_string();
    status.org_slug = Some(org.clone());
    status.stack_slug = None;
    let name = desired::base_name(obj);
    prepared.check_template(&org, stack.as_ref(), &name, Layout::OrgKey)?;

    let stored_token = prepared.owned.as_ref().and_then(secret::stored_token);
    let stored = prepared.owned.as_ref().and_then(secret::stored_record);
    let mut local = Local {
        stored,
        has_token: stored_token.is_some(),
        claim: claim::verified(obj, &creds.token).filter(|c| c.name == name),
    };
    let (mut plan, remote) = plan(ctx, &creds.token, &org, &name, &local).await?;
    if !local.recorded(remote.as_ref())
        && matches!(
            plan,
            OrgPlan::Conflict | OrgPlan::Recreate { delete_first: true }
        )
    {
        // Deleting the remote key or leaving it alone rests on the claim: take it
        // from the API server, never from the watch cache.
        local.claim = server
            .claim(ctx, obj, &creds.token)
            .await?
            .filter(|c| c.name == name);
        plan = local.plan(remote.as_ref());
    }

    let resync = jittered(ctx.config.resync_interval, 0.1);
    let (record, token) = match (plan, stored_token, local.stored.clone()) {
        (OrgPlan::Conflict, ..) => {
            // Not ours: the status names no key whose token the Secret holds.
            if status.key_name.as_deref() == Some(&name) {
                status.key_name = None;
            }
            return Ok(conflict(&name, &org));
        }
        (OrgPlan::Keep, Some(token), stored) => {
            let record = stored.unwrap_or_else(|| KeyRecord {
                name: name.clone(),
                id: remote.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
                created_at: desired::whole_seconds(Timestamp::now()),
                expires_at: None,
                stack_id: None,
            });
            (record, token)
        }
        (plan, ..) => {
            if let Some(waiting) = outcome::namespace_terminating(ctx, &prepared.namespace).await {
                return Ok(waiting);
            }
            // After a refusal, a Secret the API server would still refuse costs no key,
            // and no claim; a first refusal revokes the key it cost (below).
            prepared
                .dry_run_after_refusal(ctx, &org, stack.as_ref(), &name, Layout::OrgKey)
                .await?;
            let delete_first = matches!(plan, OrgPlan::Recreate { delete_first: true });
            // Whether a create call of this pass deleted a same-named key first.
            let mut deleted = delete_first;
            let mut recreated = plan != OrgPlan::Create;
            let previous_claim = server.record(ctx, obj, &creds.token, &name).await?;
            let role = desired::grafana_role(obj.spec.role);
            let mut created =
                create(&ctx.grafana, &creds.token, &org, &name, role, delete_first).await;
            if created.as_ref().is_err_and(is_conflict) && plan == OrgPlan::Create {
                // The snapshot was stale: a key of that name exists. Look again.
                let fresh =
                    listed_key(ctx, &creds.token, &org, &name, Some(Instant::now())).await?;
                // Judge it by the claim held before this pass's: a key this call made
                // cannot exist after a 409.
                local.claim = previous_claim;
                match local.plan(fresh.as_ref()) {
                    OrgPlan::Recreate { delete_first: true } => {
                        recreated = true;
                        deleted = true;
                        created = create(&ctx.grafana, &creds.token, &org, &name, role, true).await;
                    }
                    OrgPlan::Conflict => {
                        // Not ours after all: withdraw the claim recorded before the create.
                        server.withdraw(ctx, obj).await?;
                        return Ok(conflict(&name, &org));
                    }
                    _ => {}
                }
            }
            // A failed create may still have committed, and a delete changed the list (also
            // the fresh list taken after a 409, which the cache now holds).
            if deleted || created.is_err() {
                ctx.org_keys.invalidate(&org);
            }
            let created = created?;
            let record = record(&created, Timestamp::now());
            // The Secret is the only copy of the token: write it before anything else.
            let material = Material {
                token: &created.token,
                org_slug: &org,
                key: &record,
                stack: stack.as_ref(),
                layout: Layout::OrgKey,
            };
            if let Err(err) = prepared.write(ctx, &material).await {
                if matches!(err, Error::SecretRejected { .. }) {
                    revoke_unstorable(ctx, obj, &creds.token, &org, &name).await;
                }
                return Err(err);
            }
            info!(key = %name, org = %org, id = %created.id, "created org API key");
            let (reason, note) = if !recreated {
                (
                    "Created",
                    format!("created org API key {name} in org {org}"),
                )
            } else {
                (
                    "KeyRecreated",
                    format!(
                        "recreated org API key {name} in org {org}: the Secret no longer held \
                         the token of a live key"
                    ),
                )
            };
            ctx.event(obj, EventType::Normal, reason, "Create", note)
                .await;
            desired::record_status(status, &record, None);
            return Ok(ready(&name, &org, resync));
        }
    };

    // Steady state: keep the key; the Secret may still need new template output.
    let material = Material {
        token: &token,
        org_slug: &org,
        key: &record,
        stack: stack.as_ref(),
        layout: Layout::OrgKey,
    };
    if prepared.write(ctx, &material).await? == SecretWrite::Updated {
        ctx.event(
            obj,
            EventType::Normal,
            "SecretUpdated",
            "Update",
            format!("updated Secret {}", prepared.name),
        )
        .await;
    }
    desired::record_status(status, &record, None);
    Ok(ready(&name, &org, resync))
}

/// Deletes a key just created whose Secret the API server refused after the dry run passed:
/// its token can be stored nowhere, so it must not stay live. If the delete fails, the next
/// pass finds the claimed key without a token in the Secret and replaces it.
async fn revoke_unstorable(
    ctx: &Context,
    obj: &GrafanaCloudApiKey,
    token: &Token,
    org: &str,
    name: &str,
) {
    let deleted = ctx.grafana.delete_org_api_key(token, org, name).await;
    ctx.org_keys.invalidate(org);
    let note = match deleted {
        Ok(()) => format!(
            "deleted org API key {name} again: the API server refused the Secret for its token"
        ),
        Err(err) => format!(
            "the API server refused the Secret for org API key {name}, and deleting the key \
             failed ({}); it is deleted on the next attempt",
            Error::Grafana(err).condition_message()
        ),
    };
    ctx.event(obj, EventType::Warning, "SecretRejected", "Delete", note)
        .await;
}

fn conflict(name: &str, org: &str) -> Outcome {
    Outcome {
        readiness: Readiness::not_ready(
            Reason::KeyConflict,
            format!(
                "an API key named {name} already exists in org {org} and was not created by \
                 this resource; delete it or set spec.name to another name"
            ),
        ),
        action: requeue::after(SLOW_RETRY),
    }
}

/// grafana.com answered 409: the name is taken.
fn is_conflict(err: &Error) -> bool {
    matches!(err, Error::Grafana(e) if e.status() == Some(409))
}

fn ready(name: &str, org: &str, resync: std::time::Duration) -> Outcome {
    Outcome {
        readiness: Readiness::ready(format!("org API key {name} in org {org} is in the Secret")),
        action: requeue::after(resync),
    }
}
