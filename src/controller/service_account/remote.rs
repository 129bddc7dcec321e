//! What the service account controllers read from grafana.com, shared and cached: each
//! stack's service accounts (one search per stack and resync interval, whatever the number
//! of accounts) and each account's tokens.

use crate::{
    controller::{Context, Error, credentials::Credentials},
    grafana::{AccountToken, ServiceAccount},
};

/// The key of a stack's snapshot.
pub fn stack_key(org: &str, stack: &str) -> String {
    format!("{org}/{stack}")
}

/// The key of an account's token snapshot.
pub fn account_key(org: &str, stack: &str, account: u64) -> String {
    format!("{org}/{stack}/{account}")
}

/// The account named `name` in `stack`: from the stack's shared list when it is there,
/// otherwise looked up by name (it may be newer than the list).
pub async fn find(
    ctx: &Context,
    creds: &Credentials,
    org: &str,
    stack: &str,
    name: &str,
) -> Result<Option<ServiceAccount>, Error> {
    let listed = ctx
        .stack_accounts
        .get(&stack_key(org, stack), ctx.config.resync_interval, || {
            ctx.grafana.list_service_accounts(&creds.token, stack, None)
        })
        .await?;
    if let Some(found) = listed.iter().find(|a| a.name == name) {
        return Ok(Some(found.clone()));
    }
    find_fresh(ctx, creds, stack, name).await
}

/// The account named exactly `name` in `stack`, asked of grafana.com now.
pub async fn find_fresh(
    ctx: &Context,
    creds: &Credentials,
    stack: &str,
    name: &str,
) -> Result<Option<ServiceAccount>, Error> {
    let found = ctx
        .grafana
        .list_service_accounts(&creds.token, stack, Some(name))
        .await?;
    Ok(found.into_iter().find(|a| a.name == name))
}

/// The tokens of `account`, from the account's shared list, read once per resync interval.
pub async fn tokens(
    ctx: &Context,
    creds: &Credentials,
    org: &str,
    stack: &str,
    account: u64,
) -> Result<std::sync::Arc<Vec<AccountToken>>, Error> {
    Ok(ctx
        .account_tokens
        .get(
            &account_key(org, stack, account),
            ctx.config.resync_interval,
            || {
                ctx.grafana
                    .list_account_tokens(&creds.token, stack, account)
            },
        )
        .await?)
}
