//! The GrafanaCloudAccessPolicyToken controller: tokens of access policies, written into
//! Secrets with the endpoints to use them, rotated with an overlap. The token machinery is
//! shared ([`super::token`]); this kind adds where its tokens live.
//!
//! - `issuer`: the policy and the `/v1/tokens` calls.
//! - `remote`: the shared, cached reads from grafana.com.

mod issuer;
mod remote;

use std::time::Duration;

use kube::{
    Api, Client, ResourceExt,
    runtime::{Controller, controller::Action, reflector::Store, watcher},
};

use crate::crd::{
    CredentialsRef, DeletionPolicy, GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken,
    GrafanaStack, SecretTemplate, TokenRotation, TokenStatus,
};

use super::{
    Context, Error,
    error::RotationError,
    shell::ManagedKind,
    token::{self, Source, TokenKind, desired},
    watch::users_in,
};

impl TokenKind for GrafanaCloudAccessPolicyToken {
    type Issuer = issuer::PolicyIssuer;

    fn token_status(&self) -> Option<&TokenStatus> {
        self.status.as_ref()
    }

    fn base(&self) -> Option<&str> {
        self.spec.name.as_deref()
    }

    fn lifetime(&self) -> Result<Option<Duration>, RotationError> {
        self.spec
            .expires_after
            .as_deref()
            .map(desired::duration)
            .transpose()
    }

    fn rotation(&self) -> Option<&TokenRotation> {
        self.spec.rotation.as_ref()
    }

    fn secret_name(&self) -> Option<&str> {
        self.spec.secret_name.as_deref()
    }

    fn secret_template(&self) -> Option<&SecretTemplate> {
        self.spec.secret_template.as_ref()
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    async fn source(&self, ctx: &Context, namespace: &str) -> Result<Source<Self::Issuer>, Error> {
        issuer::source(self, ctx, namespace).await
    }

    async fn cleanup_source(
        &self,
        ctx: &Context,
        namespace: &str,
        status: &TokenStatus,
    ) -> Result<Result<Self::Issuer, String>, Error> {
        issuer::cleanup_source(self, ctx, namespace, status.region.as_deref()).await
    }
}

impl ManagedKind for GrafanaCloudAccessPolicyToken {
    const KIND: &'static str = "GrafanaCloudAccessPolicyToken";
    const OWNS_SECRETS: bool = true;
    const WATCHES_CREDENTIALS: bool = false;

    /// Tokens use their policy's credentials, so they name none themselves.
    fn credentials(&self) -> Option<&CredentialsRef> {
        None
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        token::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        token::cleanup(obj, ctx).await
    }

    /// Its policy, and the GrafanaStack its templates name.
    fn watches(
        controller: Controller<Self>,
        kube: &Client,
        scope: Option<&str>,
        store: &Store<Self>,
    ) -> Controller<Self> {
        let policies: Api<GrafanaCloudAccessPolicy> = super::scoped_api(kube, scope);
        let stacks: Api<GrafanaStack> = super::scoped_api(kube, scope);
        let (by_policy, by_stack) = (store.clone(), store.clone());
        controller
            .watches(
                policies,
                watcher::Config::default().any_semantic(),
                move |policy: GrafanaCloudAccessPolicy| {
                    users_in(&by_policy, policy.namespace().as_deref(), |t| {
                        t.spec.policy_ref == policy.name_any()
                    })
                },
            )
            .watches(
                stacks,
                watcher::Config::default().any_semantic(),
                move |stack: GrafanaStack| {
                    users_in(&by_stack, stack.namespace().as_deref(), |t| {
                        t.spec
                            .secret_template
                            .as_ref()
                            .and_then(|s| s.stack_ref.as_deref())
                            == Some(stack.name_any().as_str())
                    })
                },
            )
    }
}
