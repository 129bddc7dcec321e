//! Where a service account token lives: its GrafanaStackServiceAccount (account id, stack,
//! credentials), read before any grafana.com call, and the token calls made through the
//! grafana.com proxy.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::{
    controller::{
        Context, Error,
        claims::newer_than_snapshot,
        cluster, conditions,
        credentials::{self, Credentials},
        refs::{self, stack_facts},
        secret::{KeyRecord, Layout},
        service_account::remote,
        token::{Created, Issuer, Source},
    },
    crd::{GrafanaStackServiceAccount, GrafanaStackServiceAccountToken},
    grafana,
};

/// The account the tokens belong to, and where it lives.
pub struct AccountIssuer {
    pub account: u64,
    account_text: String,
    pub stack: String,
    pub creds: Credentials,
    pub org: String,
}

impl AccountIssuer {
    fn new(account: u64, stack: String, creds: Credentials, org: String) -> Self {
        Self {
            account,
            account_text: account.to_string(),
            stack,
            creds,
            org,
        }
    }
}

impl Issuer for AccountIssuer {
    fn org(&self) -> &str {
        &self.org
    }

    fn layout(&self) -> Layout<'_> {
        Layout::AccountToken {
            account_id: &self.account_text,
        }
    }

    fn region(&self) -> Option<&str> {
        None
    }

    /// In the account's shared token list and working, or too new to be in it, or found
    /// working by a fresh list.
    async fn alive(&self, ctx: &Context, record: &KeyRecord) -> Result<bool, Error> {
        let now = Timestamp::now();
        if record.expires_at.is_some_and(|at| at <= now) {
            return Ok(false);
        }
        let listed = remote::tokens(ctx, &self.creds, &self.org, &self.stack, self.account).await?;
        if let Some(found) = listed.iter().find(|t| t.id.to_string() == record.id) {
            return Ok(found.works());
        }
        if newer_than_snapshot(record, now, ctx.config.resync_interval) {
            return Ok(true);
        }
        let fresh = self.fresh_tokens(ctx).await?;
        Ok(fresh
            .iter()
            .any(|t| t.id.to_string() == record.id && t.works()))
    }

    async fn find_fresh(&self, ctx: &Context, name: &str) -> Result<Option<String>, Error> {
        let fresh = self.fresh_tokens(ctx).await?;
        Ok(fresh
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| t.id.to_string()))
    }

    async fn create(
        &self,
        ctx: &Context,
        name: &str,
        lifetime: Option<Duration>,
        _expires_at: Option<Timestamp>,
    ) -> Result<Created, grafana::Error> {
        let created = ctx
            .grafana
            .create_account_token(
                &self.creds.token,
                &self.stack,
                self.account,
                name,
                lifetime.map(|l| l.as_secs()),
            )
            .await?;
        Ok(Created {
            id: created.id.to_string(),
            token: created.key,
        })
    }

    async fn delete(&self, ctx: &Context, id: &str, name: &str) -> Result<(), grafana::Error> {
        // Ids are numbers; anything else never named a token of this account.
        let Ok(id) = id.parse::<u64>() else {
            return Ok(());
        };
        ctx.grafana
            .delete_account_token(&self.creds.token, &self.stack, self.account, id, name)
            .await
    }

    fn name_taken(err: &grafana::Error) -> bool {
        err.is_name_taken()
    }

    fn forget_cached(&self, ctx: &Context) {
        ctx.account_tokens
            .invalidate(&remote::account_key(&self.org, &self.stack, self.account));
    }
}

impl AccountIssuer {
    async fn fresh_tokens(&self, ctx: &Context) -> Result<Vec<grafana::AccountToken>, Error> {
        Ok(ctx
            .grafana
            .list_account_tokens(&self.creds.token, &self.stack, self.account)
            .await?)
    }
}

/// The account once it is Ready, with the stack it lives in.
pub async fn source(
    obj: &GrafanaStackServiceAccountToken,
    ctx: &Context,
    namespace: &str,
) -> Result<Source<AccountIssuer>, Error> {
    let name = &obj.spec.service_account_ref;
    let account =
        cluster::get::<GrafanaStackServiceAccount>(ctx.cluster.as_ref(), Some(namespace), name)
            .await?;
    let waiting = |message: String| Source::Waiting {
        reason: conditions::Reason::ServiceAccountNotReady,
        message,
    };
    let Some(account) = account else {
        return Ok(waiting(format!(
            "waiting for GrafanaStackServiceAccount {name}: it does not exist"
        )));
    };
    let status = account.status.clone().unwrap_or_default();
    let (true, Some(id), Some(slug)) = (
        conditions::is_ready(&status.conditions),
        status.id,
        status.stack_slug,
    ) else {
        return Ok(waiting(format!(
            "waiting for GrafanaStackServiceAccount {name} to become Ready"
        )));
    };
    let stack = match refs::ready_stack(ctx, namespace, &account.spec.stack_ref).await? {
        Ok(stack) => stack,
        Err(message) => {
            return Ok(Source::Waiting {
                reason: conditions::Reason::StackNotReady,
                message,
            });
        }
    };
    let creds = credentials::resolve(ctx, namespace, account.spec.credentials.as_ref()).await?;
    let org = creds.require_org_slug()?.to_string();
    Ok(Source::Ready {
        issuer: AccountIssuer::new(id, slug, creds, org),
        stack: Some(stack_facts(&stack)),
    })
}

/// The account's credentials for deleting the tokens; `Err(note)` when the account is gone
/// (its tokens went with it, or are retained with it).
pub async fn cleanup_source(
    obj: &GrafanaStackServiceAccountToken,
    ctx: &Context,
    namespace: &str,
) -> Result<Result<AccountIssuer, String>, Error> {
    let name = &obj.spec.service_account_ref;
    let account =
        cluster::get::<GrafanaStackServiceAccount>(ctx.cluster.as_ref(), Some(namespace), name)
            .await?;
    let gone = || {
        format!(
            "GrafanaStackServiceAccount {name} is gone, so its tokens were deleted with it (or \
             are retained with it); nothing left to delete"
        )
    };
    let Some(account) = account else {
        return Ok(Err(gone()));
    };
    let status = account.status.clone().unwrap_or_default();
    let (Some(id), Some(slug)) = (status.id, status.stack_slug) else {
        return Ok(Err(format!(
            "GrafanaStackServiceAccount {name} never got an account, so {} has no token to \
             delete",
            obj.name_any()
        )));
    };
    let reference = account.spec.credentials.clone();
    let creds = credentials::resolve_for_cleanup(ctx, namespace, reference.as_ref()).await?;
    let org = creds.require_org_slug().unwrap_or_default().to_string();
    Ok(Ok(AccountIssuer::new(id, slug, creds, org)))
}
