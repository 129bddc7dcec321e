//! Where an access-policy token lives: its policy (id, region, credentials), read before any
//! grafana.com call, and the `/v1/tokens` calls made there.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::remote;
use crate::{
    controller::{
        Context, Error, cluster, conditions,
        credentials::{self, Credentials},
        policy::remote::scope_key,
        refs::{self, stack_facts},
        secret::{KeyRecord, Layout},
        token::{Created, Issuer, Source},
    },
    crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken},
    grafana,
};

/// What the token's policy says: where tokens live and whose they are.
pub struct PolicyIssuer {
    pub id: String,
    pub region: String,
    pub creds: Credentials,
    pub org: String,
}

impl Issuer for PolicyIssuer {
    fn org(&self) -> &str {
        &self.org
    }

    fn layout(&self) -> Layout<'_> {
        Layout::PolicyToken {
            region: &self.region,
        }
    }

    fn region(&self) -> Option<&str> {
        Some(&self.region)
    }

    async fn alive(&self, ctx: &Context, record: &KeyRecord) -> Result<bool, Error> {
        remote::alive(ctx, &self.creds, &self.org, &self.region, record).await
    }

    async fn find_fresh(&self, ctx: &Context, name: &str) -> Result<Option<String>, Error> {
        let found = remote::find_fresh(ctx, &self.creds, &self.region, name).await?;
        Ok(found.map(|t| t.id))
    }

    async fn create(
        &self,
        ctx: &Context,
        name: &str,
        _lifetime: Option<Duration>,
        expires_at: Option<Timestamp>,
    ) -> Result<Created, grafana::Error> {
        let created = ctx
            .grafana
            .create_policy_token(
                &self.creds.token,
                &self.region,
                &self.id,
                name,
                expires_at.map(|at| at.to_string()),
            )
            .await?;
        Ok(Created {
            id: created.id,
            token: created.token,
        })
    }

    async fn delete(&self, ctx: &Context, id: &str, name: &str) -> Result<(), grafana::Error> {
        ctx.grafana
            .delete_policy_token(&self.creds.token, &self.region, id, name)
            .await
    }

    fn name_taken(err: &grafana::Error) -> bool {
        err.status() == Some(409) && !err.is_invalid_argument()
    }

    fn forget_cached(&self, ctx: &Context) {
        ctx.org_tokens
            .invalidate(&scope_key(&self.org, &self.region));
    }
}

/// The policy once it is Ready, and the stack the templates name.
pub async fn source(
    obj: &GrafanaCloudAccessPolicyToken,
    ctx: &Context,
    namespace: &str,
) -> Result<Source<PolicyIssuer>, Error> {
    let name = &obj.spec.policy_ref;
    let policy =
        cluster::get::<GrafanaCloudAccessPolicy>(ctx.cluster.as_ref(), Some(namespace), name)
            .await?;
    let waiting = |message: String| Source::Waiting {
        reason: conditions::Reason::PolicyNotReady,
        message,
    };
    let Some(policy) = policy else {
        return Ok(waiting(format!(
            "waiting for GrafanaCloudAccessPolicy {name}: it does not exist"
        )));
    };
    let status = policy.status.clone().unwrap_or_default();
    let (true, Some(id), Some(region)) = (
        conditions::is_ready(&status.conditions),
        status.id,
        status.region,
    ) else {
        return Ok(waiting(format!(
            "waiting for GrafanaCloudAccessPolicy {name} to become Ready"
        )));
    };
    let creds = credentials::resolve(ctx, namespace, policy.spec.credentials.as_ref()).await?;
    let org = creds.require_org_slug()?.to_string();
    let issuer = PolicyIssuer {
        id,
        region,
        creds,
        org,
    };
    let template = obj.spec.secret_template.as_ref();
    let Some(stack_name) = template.and_then(|t| t.stack_ref.as_deref()) else {
        return Ok(Source::Ready {
            issuer,
            stack: None,
        });
    };
    let stack = match refs::ready_stack(ctx, namespace, stack_name).await? {
        Ok(stack) => stack,
        Err(message) => {
            return Ok(Source::Waiting {
                reason: conditions::Reason::StackNotReady,
                message,
            });
        }
    };
    Ok(Source::Ready {
        issuer,
        stack: Some(stack_facts(&stack)),
    })
}

/// The policy's credentials for deleting the tokens; `Err(note)` when the policy is gone
/// (its tokens went with it at grafana.com, or are retained with it).
pub async fn cleanup_source(
    obj: &GrafanaCloudAccessPolicyToken,
    ctx: &Context,
    namespace: &str,
    region: Option<&str>,
) -> Result<Result<PolicyIssuer, String>, Error> {
    let policy = cluster::get::<GrafanaCloudAccessPolicy>(
        ctx.cluster.as_ref(),
        Some(namespace),
        &obj.spec.policy_ref,
    )
    .await?;
    let Some(policy) = policy else {
        return Ok(Err(format!(
            "GrafanaCloudAccessPolicy {} is gone, so its tokens were deleted with it (or are \
             retained with it); nothing left to delete",
            obj.spec.policy_ref
        )));
    };
    // A token's region is in its status once it was claimed; a first token, made before any
    // status write, is in its policy's.
    let policy_status = policy.status.unwrap_or_default();
    let Some(region) = region.map(str::to_string).or(policy_status.region) else {
        return Ok(Err(format!(
            "token {} never reached grafana.com; nothing to delete",
            obj.name_any()
        )));
    };
    let reference = policy.spec.credentials.clone();
    let creds = credentials::resolve_for_cleanup(ctx, namespace, reference.as_ref()).await?;
    let org = creds.require_org_slug().unwrap_or_default().to_string();
    Ok(Ok(PolicyIssuer {
        id: policy_status.id.unwrap_or_default(),
        region,
        creds,
        org,
    }))
}
