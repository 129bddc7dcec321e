//! Organisation API keys (`/orgs/<org>/api-keys`): keep the key whose token the Secret
//! holds, and replace it whenever that token is lost, so that exactly one live key exists
//! and its token is in the Secret.

use k8s_openapi::jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    runtime::{controller::Action, events::EventType},
};
use tracing::info;

use super::{
    apply::{self, Outcome, Prepared, SecretWrite},
    desired::{self, OrgPlan},
};
use crate::{
    controller::{
        Context, Error,
        conditions::{Readiness, Reason},
        credentials::Credentials,
        error::{SLOW_RETRY, jittered},
        secret::{self, KeyRecord, Material, StackFacts},
        status,
    },
    crd::{GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
    grafana::{ApiKeyRole, CreatedOrgApiKey, GrafanaClient, OrgApiKey, Token},
};

/// The remote key named `name` in `org`, if it exists.
pub async fn find(
    grafana: &GrafanaClient,
    token: &Token,
    org: &str,
    name: &str,
) -> Result<Option<OrgApiKey>, Error> {
    Ok(grafana
        .list_org_api_keys(token, org)
        .await?
        .into_iter()
        .find(|k| k.name == name))
}

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
    if delete_first {
        grafana.delete_org_api_key(token, org, name).await?;
    }
    Ok(grafana.create_org_api_key(token, org, name, role).await?)
}

/// The remote key named `name` as the organisation's snapshot list shows it: one list
/// call per organisation and resync interval, shared by all its keys.
async fn cached_key(
    ctx: &Context,
    token: &Token,
    org: &str,
    name: &str,
) -> Result<Option<OrgApiKey>, Error> {
    let keys = ctx
        .org_keys
        .get(org, ctx.config.resync_interval, || {
            ctx.grafana.list_org_api_keys(token, org)
        })
        .await?;
    Ok(keys.iter().find(|k| k.name == name).cloned())
}

/// What the Secret and status know about the key, for [`desired::org_plan`].
struct Local {
    stored: Option<KeyRecord>,
    has_token: bool,
    claimed: bool,
}

impl Local {
    fn plan(&self, remote: Option<&OrgApiKey>) -> OrgPlan {
        desired::org_plan(remote, self.stored.as_ref(), self.has_token, self.claimed)
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
    let cached = cached_key(ctx, token, org, name).await?;
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
    ctx.org_keys.invalidate(org);
    let fresh = find(&ctx.grafana, token, org, name).await?;
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
) -> Result<Outcome, Error> {
    let org = creds.require_org_slug()?.to_string();
    status.org_slug = Some(org.clone());
    status.stack_slug = None;
    let name = desired::base_name(obj);
    prepared
        .check_template(obj, &org, stack.as_ref(), &name, false)
        .map_err(|err| Error::InvalidSpec {
            reason: err.to_string(),
        })?;

    let stored_token = prepared.owned.as_ref().and_then(secret::stored_token);
    let stored = prepared.owned.as_ref().and_then(secret::stored_record);
    let claimed = stored.as_ref().is_some_and(|r| r.name == name)
        || claimed_in_status(ctx, obj, &name).await?;
    let local = Local {
        stored,
        has_token: stored_token.is_some(),
        claimed,
    };
    let (plan, remote) = plan(ctx, &creds.token, &org, &name, &local).await?;

    let resync = jittered(ctx.config.resync_interval, 0.1);
    let (record, token) = match (plan, stored_token, local.stored.clone()) {
        (OrgPlan::Conflict, ..) => return Ok(conflict(&name, &org)),
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
            if let Some(waiting) = apply::namespace_terminating(ctx, &prepared.namespace).await {
                return Ok(waiting);
            }
            let delete_first = matches!(plan, OrgPlan::Recreate { delete_first: true });
            let mut recreated = plan != OrgPlan::Create;
            mark_pending(ctx, obj, status, &name).await?;
            let role = desired::grafana_role(obj.spec.role);
            let mut created =
                create(&ctx.grafana, &creds.token, &org, &name, role, delete_first).await;
            if created.as_ref().is_err_and(is_conflict) && plan == OrgPlan::Create {
                // The snapshot was stale: a key of that name exists. Look again.
                ctx.org_keys.invalidate(&org);
                let fresh = find(&ctx.grafana, &creds.token, &org, &name).await?;
                match local.plan(fresh.as_ref()) {
                    OrgPlan::Recreate { delete_first: true } => {
                        recreated = true;
                        created = create(&ctx.grafana, &creds.token, &org, &name, role, true).await;
                    }
                    OrgPlan::Conflict => {
                        // Not ours after all: withdraw the claim recorded before the create.
                        status.key_name = obj.status.as_ref().and_then(|s| s.key_name.clone());
                        return Ok(conflict(&name, &org));
                    }
                    _ => {}
                }
            }
            // A failed create may still have committed, and a delete changed the list.
            if delete_first || created.is_err() {
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
                stack_key: false,
            };
            prepared.write(ctx, obj, &material).await?;
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
        stack_key: false,
    };
    if prepared.write(ctx, obj, &material).await? == SecretWrite::Updated {
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

fn conflict(name: &str, org: &str) -> Outcome {
    Outcome {
        readiness: Readiness::not_ready(
            Reason::KeyConflict,
            format!(
                "an API key named {name} already exists in org {org} and was not created by \
                 this resource; delete it or set spec.name to another name"
            ),
        ),
        action: Action::requeue(SLOW_RETRY),
    }
}

/// grafana.com answered 409: the name is taken.
fn is_conflict(err: &Error) -> bool {
    matches!(err, Error::Grafana(e) if e.status() == Some(409))
}

fn ready(name: &str, org: &str, resync: std::time::Duration) -> Outcome {
    Outcome {
        readiness: Readiness::ready(format!("org API key {name} in org {org} is in the Secret")),
        action: Action::requeue(resync),
    }
}

/// Whether status claims the key `name` as this resource's own. A claim is what lets the
/// operator delete a same-named remote key, so it is read from the API server rather than
/// trusted from the watch cache: the cache can still show a claim that this resource's
/// previous reconcile recorded and then withdrew after a 409 on create.
async fn claimed_in_status(
    ctx: &Context,
    obj: &GrafanaCloudApiKey,
    name: &str,
) -> Result<bool, Error> {
    let cached = obj.status.as_ref().and_then(|s| s.key_name.as_deref());
    if cached != Some(name) {
        return Ok(false);
    }
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<GrafanaCloudApiKey> = Api::namespaced(ctx.kube.clone(), &namespace);
    let fresh = api
        .get_opt(&obj.name_any())
        .await
        .map_err(|source| Error::ReadObject {
            kind: "GrafanaCloudApiKey",
            namespace: namespace.clone(),
            name: obj.name_any(),
            source: source.into(),
        })?;
    let claimed = fresh
        .and_then(|key| key.status)
        .and_then(|status| status.key_name)
        .is_some_and(|claimed| claimed == name);
    Ok(claimed)
}

/// Records the key name in status before the create call, so that after a crash between
/// the create and the Secret write the next reconcile knows the remote key is its own and
/// replaces it, while a same-named key someone else made is never touched.
async fn mark_pending(
    ctx: &Context,
    obj: &GrafanaCloudApiKey,
    status: &mut GrafanaCloudApiKeyStatus,
    name: &str,
) -> Result<(), Error> {
    let recorded = obj.status.as_ref().and_then(|s| s.key_name.as_deref());
    if recorded == Some(name) {
        return Ok(());
    }
    let mut marked = obj.status.clone().unwrap_or_default();
    marked.key_name = Some(name.to_string());
    marked.key_type = status.key_type.clone();
    marked.secret_name = status.secret_name.clone();
    marked.org_slug = status.org_slug.clone();
    status::write_if_changed(ctx, obj, obj.status.as_ref(), &marked).await?;
    status.key_name = Some(name.to_string());
    Ok(())
}
