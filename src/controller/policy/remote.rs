//! What the access policy controllers read from grafana.com, shared and cached: the org's
//! id, the scopes a region offers, and each organisation's policies per region (one list per
//! organisation, region and resync interval, whatever the number of policies).

use std::time::Duration;

use crate::{
    controller::{Context, Error, credentials::Credentials},
    grafana::AccessPolicy,
};

/// How long an organisation's id is remembered: it never changes.
const ORG_ID_TTL: Duration = Duration::from_secs(24 * 3600);

/// The key of an organisation's snapshot in one region.
pub fn scope_key(org: &str, region: &str) -> String {
    format!("{org}/{region}")
}

/// The numeric id of the credentials' organisation, for an org realm.
pub async fn org_id(ctx: &Context, creds: &Credentials) -> Result<u64, Error> {
    let org = creds.require_org_slug()?.to_string();
    let id = ctx
        .org_ids
        .get(&org, ORG_ID_TTL, || async {
            ctx.grafana
                .get_org(&creds.token, &org)
                .await
                .map(|found| found.id)
        })
        .await?;
    Ok(*id)
}

/// The scope names grafana.com offers in `region`, or `None` when it does not say (the
/// config endpoint refused or is missing), in which case scopes are not checked here.
pub async fn offered_scopes(
    ctx: &Context,
    creds: &Credentials,
    region: &str,
) -> Result<Option<Vec<String>>, Error> {
    let config = ctx
        .policy_configs
        .get(region, ctx.config.resync_interval, || async {
            match ctx.grafana.access_policy_config(&creds.token, region).await {
                Ok(config) => Ok(Some(config)),
                Err(err) if err.is_transient() || err.status() == Some(429) => Err(err),
                Err(_) => Ok(None),
            }
        })
        .await?;
    Ok(config
        .as_ref()
        .as_ref()
        .map(|c| c.scopes.iter().map(|s| s.name.clone()).collect()))
}

/// The policy named `name` in `region`: from the organisation's shared list when it is
/// there, otherwise looked up by name (it may be newer than the list).
pub async fn find(
    ctx: &Context,
    creds: &Credentials,
    org: &str,
    region: &str,
    name: &str,
) -> Result<Option<AccessPolicy>, Error> {
    let listed = ctx
        .org_policies
        .get(&scope_key(org, region), ctx.config.resync_interval, || {
            ctx.grafana.list_access_policies(&creds.token, region, None)
        })
        .await?;
    if let Some(found) = listed.iter().find(|p| p.name == name) {
        return Ok(Some(found.clone()));
    }
    find_fresh(ctx, creds, region, name).await
}

/// The policy named `name` in `region`, asked of grafana.com now.
pub async fn find_fresh(
    ctx: &Context,
    creds: &Credentials,
    region: &str,
    name: &str,
) -> Result<Option<AccessPolicy>, Error> {
    let found = ctx
        .grafana
        .list_access_policies(&creds.token, region, Some(name))
        .await?;
    Ok(found.into_iter().find(|p| p.name == name))
}
