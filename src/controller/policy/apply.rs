//! Converging a GrafanaCloudAccessPolicy: resolve its realms (the org id, each stack's id and
//! region), check its scopes against the region's list, then adopt, update in place, or
//! create the remote policy. Everything ends in one status write.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::{
    ResourceExt,
    runtime::{controller::Action, events::EventType},
};

use super::{
    desired::{self, ResolvedRealm},
    remote,
};
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
    crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyStatus, RealmType},
    grafana::{AccessPolicy, PolicyBody},
};

/// How often a policy looks at its stacks again while one is missing or not Ready. The
/// GrafanaStack watch usually triggers the reconcile much sooner.
const STACK_WAIT: Duration = Duration::from_secs(60);

pub async fn apply(obj: &GrafanaCloudAccessPolicy, ctx: &Context) -> Result<Action, Error> {
    let mut next = obj.status.clone().unwrap_or_default();
    let result = converge(obj, ctx, &mut next).await;
    status::finish(ctx, obj, obj.status.as_ref(), next, result).await
}

/// The realms with their ids, the region, or what the policy waits for.
enum Realms {
    Resolved {
        realms: Vec<ResolvedRealm>,
        region: String,
    },
    Waiting(Outcome),
}

async fn resolve_realms(
    obj: &GrafanaCloudAccessPolicy,
    ctx: &Context,
    creds: &Credentials,
    namespace: &str,
) -> Result<Realms, Error> {
    let mut realms = Vec::new();
    let mut stack_regions: Vec<(String, String)> = Vec::new();
    for realm in &obj.spec.realms {
        let label_policies = realm
            .label_policies
            .iter()
            .map(|l| l.selector.clone())
            .collect();
        let identifier = match realm.type_ {
            RealmType::Org => remote::org_id(ctx, creds).await?.to_string(),
            RealmType::Stack => {
                let Some(name) = realm.stack_ref.as_deref() else {
                    return Err(Error::InvalidSpec {
                        reason: "a stack realm needs stackRef".into(),
                    });
                };
                let stack = match refs::ready_stack(ctx, namespace, name).await? {
                    Ok(stack) => stack,
                    Err(message) => {
                        let action = requeue::after(STACK_WAIT);
                        return Ok(Realms::Waiting(Outcome::waiting(
                            Reason::StackNotReady,
                            message,
                            action,
                        )));
                    }
                };
                let status = stack.status.unwrap_or_default();
                let Some(id) = status.id else {
                    let message = format!("waiting for GrafanaStack {name} to record its id");
                    let action = requeue::after(STACK_WAIT);
                    return Ok(Realms::Waiting(Outcome::waiting(
                        Reason::StackNotReady,
                        message,
                        action,
                    )));
                };
                stack_regions.push((name.to_string(), status.region_slug.unwrap_or_default()));
                id.to_string()
            }
        };
        realms.push(ResolvedRealm {
            kind: realm.type_.as_str(),
            identifier,
            label_policies,
        });
    }
    let region = obj
        .spec
        .region
        .clone()
        .or_else(|| stack_regions.first().map(|(_, region)| region.clone()))
        .filter(|r| !r.is_empty())
        .ok_or_else(|| Error::InvalidSpec {
            reason: "spec.region is required when no realm is a stack".into(),
        })?;
    if let Some((name, other)) = stack_regions.iter().find(|(_, r)| *r != region) {
        return Err(Error::InvalidSpec {
            reason: format!(
                "GrafanaStack {name} is in region {other}, but the policy is in {region}: a \
                 policy's stack realms must all be in its region"
            ),
        });
    }
    Ok(Realms::Resolved { realms, region })
}

async fn converge(
    obj: &GrafanaCloudAccessPolicy,
    ctx: &Context,
    status: &mut GrafanaCloudAccessPolicyStatus,
) -> Result<Outcome, Error> {
    let namespace = obj.namespace().ok_or(Error::MissingNamespace)?;
    let creds = credentials::resolve(ctx, &namespace, obj.spec.credentials.as_ref()).await?;
    let org = creds.require_org_slug()?.to_string();
    let (realms, region) = match resolve_realms(obj, ctx, &creds, &namespace).await? {
        Realms::Resolved { realms, region } => (realms, region),
        Realms::Waiting(outcome) => return Ok(outcome),
    };
    if status.region.as_ref().is_some_and(|r| *r != region) && status.id.is_some() {
        return Err(Error::InvalidSpec {
            reason: format!(
                "the policy lives in region {}; a policy cannot move to {region}",
                status.region.clone().unwrap_or_default()
            ),
        });
    }
    status.region = Some(region.clone());
    if let Some(offered) = remote::offered_scopes(ctx, &creds, &region).await? {
        let unknown = desired::unknown_scopes(&obj.spec.scopes, &offered);
        if !unknown.is_empty() {
            return Err(Error::InvalidSpec {
                reason: format!(
                    "grafana.com offers no scope {} in region {region}",
                    unknown.join(", ")
                ),
            });
        }
    }
    let name = desired::policy_name(obj);
    status.name = Some(name.clone());
    let body = desired::body(obj, &name, &realms);
    let resync = jittered(ctx.config.resync_interval, 0.1);

    let found = remote::find(ctx, &creds, &org, &region, &name).await?;
    let policy = match found {
        Some(found) => {
            if !owned(ctx, obj, &found, status).await? {
                status.id = None;
                return Ok(conflict(&name, &region));
            }
            if status.id.as_deref() != Some(found.id.as_str()) {
                ctx.event(
                    obj,
                    EventType::Normal,
                    "Adopted",
                    "Create",
                    format!("found access policy {name} created by an earlier attempt; adopted it"),
                )
                .await;
            }
            update_if_drifted(ctx, obj, &creds, &org, &region, found, &body).await?
        }
        None => {
            if refs::namespace_terminating(ctx, &namespace).await {
                return Ok(Outcome::waiting(
                    Reason::Deleting,
                    format!("namespace {namespace} is being deleted; no policy is created"),
                    Action::await_change(),
                ));
            }
            match create(ctx, obj, &creds, &org, &region, &body, status).await? {
                Some(policy) => policy,
                None => return Ok(conflict(&name, &region)),
            }
        }
    };
    status.id = Some(policy.id.clone());
    status.org_id = policy.org_id.clone().or_else(|| status.org_id.clone());
    Ok(Outcome {
        readiness: Readiness::ready(format!("access policy {name} is in region {region}")),
        action: requeue::after(resync),
    })
}

/// Whether `found` is this resource's own, judged by the id status records or the claim the
/// API server holds (never the watch cache's).
async fn owned(
    ctx: &Context,
    obj: &GrafanaCloudAccessPolicy,
    found: &AccessPolicy,
    status: &GrafanaCloudAccessPolicyStatus,
) -> Result<bool, Error> {
    if desired::owns_remote(found, status.id.as_deref(), None) {
        return Ok(true);
    }
    let fresh = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|p| p.status);
    let claimed_at = fresh.as_ref().and_then(|s| s.claimed_at.as_deref());
    Ok(desired::owns_remote(found, None, claimed_at))
}

async fn update_if_drifted(
    ctx: &Context,
    obj: &GrafanaCloudAccessPolicy,
    creds: &Credentials,
    org: &str,
    region: &str,
    found: AccessPolicy,
    body: &PolicyBody,
) -> Result<AccessPolicy, Error> {
    if !desired::drifted(&found, body) {
        return Ok(found);
    }
    let mut update = body.clone();
    update.name = None;
    let updated = ctx
        .grafana
        .update_access_policy(&creds.token, region, &found.id, &found.name, &update)
        .await;
    ctx.org_policies.invalidate(&remote::scope_key(org, region));
    let updated = updated?;
    ctx.event(
        obj,
        EventType::Normal,
        "Updated",
        "Update",
        format!("updated access policy {} in place", found.name),
    )
    .await;
    Ok(updated)
}

/// Records the claim, then creates the policy. `None`: a same-named policy appeared that is
/// not this resource's.
async fn create(
    ctx: &Context,
    obj: &GrafanaCloudAccessPolicy,
    creds: &Credentials,
    org: &str,
    region: &str,
    body: &PolicyBody,
    status: &mut GrafanaCloudAccessPolicyStatus,
) -> Result<Option<AccessPolicy>, Error> {
    let name = body.name.clone().unwrap_or_default();
    let fresh = cluster::read_fresh(ctx.cluster.as_ref(), obj)
        .await?
        .and_then(|p| p.status);
    let mut claimed = fresh.clone().unwrap_or_default();
    let at = whole_seconds(Timestamp::now()).to_string();
    claimed.claimed_at = Some(at.clone());
    claimed.name = Some(name.clone());
    claimed.region = Some(region.to_string());
    status::write_if_changed(ctx, obj, fresh.as_ref(), &claimed).await?;
    status.claimed_at = Some(at);
    let created = ctx
        .grafana
        .create_access_policy(&creds.token, region, body)
        .await;
    ctx.org_policies.invalidate(&remote::scope_key(org, region));
    match created {
        Ok(policy) => {
            ctx.event(
                obj,
                EventType::Normal,
                "Created",
                "Create",
                format!("created access policy {name} in region {region}"),
            )
            .await;
            Ok(Some(policy))
        }
        Err(err) if err.status() == Some(409) || err.is_transient() => {
            // Taken, or maybe created before the answer was lost: look again by name.
            let again = remote::find_fresh(ctx, creds, region, &name).await?;
            match again {
                Some(found) if desired::owns_remote(&found, None, status.claimed_at.as_deref()) => {
                    Ok(Some(found))
                }
                Some(_) => Ok(None),
                None => Err(err.into()),
            }
        }
        Err(err) => Err(err.into()),
    }
}

fn conflict(name: &str, region: &str) -> Outcome {
    Outcome::waiting(
        Reason::NameConflict,
        format!(
            "an access policy named {name} already exists in region {region} and was not \
             created by this resource; it is left alone. Set spec.name to another name"
        ),
        requeue::after(SLOW_RETRY),
    )
}
