//! What the token controller asks grafana.com, shared and cached: whether a token still
//! lives (one list per organisation, region and resync interval), a token looked up by name,
//! and a stack's OTLP endpoint.

use k8s_openapi::jiff::Timestamp;

use crate::{
    controller::{
        Context, Error, claims::newer_than_snapshot, credentials::Credentials,
        policy::remote::scope_key, secret::KeyRecord,
    },
    grafana::PolicyToken,
};

/// Whether the token `record` names still works: it is in the organisation's shared list,
/// or too new to be in it, or a lookup by name finds it unexpired.
pub async fn alive(
    ctx: &Context,
    creds: &Credentials,
    org: &str,
    region: &str,
    record: &KeyRecord,
) -> Result<bool, Error> {
    let now = Timestamp::now();
    if record.expires_at.is_some_and(|at| at <= now) {
        return Ok(false);
    }
    let listed = ctx
        .org_tokens
        .get(&scope_key(org, region), ctx.config.resync_interval, || {
            ctx.grafana.list_policy_tokens(&creds.token, region, None)
        })
        .await?;
    if listed.iter().any(|t| t.id == record.id) {
        return Ok(true);
    }
    if newer_than_snapshot(record, now, ctx.config.resync_interval) {
        return Ok(true);
    }
    let found = find_fresh(ctx, creds, region, &record.name).await?;
    Ok(found.is_some_and(|t| t.id == record.id && !expired(&t, now)))
}

fn expired(token: &PolicyToken, now: Timestamp) -> bool {
    token
        .expires_at
        .as_deref()
        .and_then(|at| at.parse::<Timestamp>().ok())
        .is_some_and(|at| at <= now)
}

/// The token named `name` in `region`, expired or not, asked of grafana.com now.
pub async fn find_fresh(
    ctx: &Context,
    creds: &Credentials,
    region: &str,
    name: &str,
) -> Result<Option<PolicyToken>, Error> {
    let found = ctx
        .grafana
        .list_policy_tokens(&creds.token, region, Some(name))
        .await?;
    Ok(found.into_iter().find(|t| t.name == name))
}
