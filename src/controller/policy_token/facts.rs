//! What a token depends on, read before any grafana.com call: its policy (where tokens
//! live and with which credentials) and the stack its templates name.

use super::remote;
use crate::{
    controller::{
        Context, Error, cluster, conditions,
        credentials::{self, Credentials},
        refs::{self, stack_facts},
        secret::StackFacts,
    },
    crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken},
};

/// What the token's policy says: where tokens live and whose they are.
pub struct PolicyFacts {
    pub id: String,
    pub region: String,
    pub creds: Credentials,
    pub org: String,
}

pub async fn policy_facts(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Result<PolicyFacts, String>, Error> {
    let policy =
        cluster::get::<GrafanaCloudAccessPolicy>(ctx.cluster.as_ref(), Some(namespace), name)
            .await?;
    let Some(policy) = policy else {
        return Ok(Err(format!(
            "waiting for GrafanaCloudAccessPolicy {name}: it does not exist"
        )));
    };
    let status = policy.status.clone().unwrap_or_default();
    let (true, Some(id), Some(region)) = (
        conditions::is_ready(&status.conditions),
        status.id,
        status.region,
    ) else {
        return Ok(Err(format!(
            "waiting for GrafanaCloudAccessPolicy {name} to become Ready"
        )));
    };
    let creds = credentials::resolve(ctx, namespace, policy.spec.credentials.as_ref()).await?;
    let org = creds.require_org_slug()?.to_string();
    Ok(Ok(PolicyFacts {
        id,
        region,
        creds,
        org,
    }))
}

pub async fn template_stack(
    ctx: &Context,
    obj: &GrafanaCloudAccessPolicyToken,
    namespace: &str,
    policy: &PolicyFacts,
) -> Result<Result<Option<StackFacts>, String>, Error> {
    let template = obj.spec.secret_template.as_ref();
    let Some(name) = template.and_then(|t| t.stack_ref.as_deref()) else {
        return Ok(Ok(None));
    };
    let stack = match refs::ready_stack(ctx, namespace, name).await? {
        Ok(stack) => stack,
        Err(message) => return Ok(Err(message)),
    };
    let mut facts = stack_facts(&stack);
    facts.otlp_url = remote::otlp_url(ctx, &policy.creds, &policy.org, &facts.slug).await?;
    Ok(Ok(Some(facts)))
}
