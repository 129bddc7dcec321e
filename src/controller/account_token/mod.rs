//! The GrafanaStackServiceAccountToken controller: tokens of stack service accounts, written
//! into Secrets with the stack's URL, rotated with an overlap. The token machinery is
//! shared ([`super::token`]); this kind adds where its tokens live (`issuer`).

mod issuer;

use std::time::Duration;

use kube::{
    Api, Client, ResourceExt,
    runtime::{Controller, controller::Action, reflector::Store, watcher},
};

use crate::crd::{
    CredentialsRef, DeletionPolicy, GrafanaStack, GrafanaStackServiceAccount,
    GrafanaStackServiceAccountToken, SecretTemplate, TokenRotation, TokenStatus,
};

use super::{
    Context, Error,
    error::RotationError,
    shell::ManagedKind,
    token::{self, Source, TokenKind},
    watch::users_in,
};

impl TokenKind for GrafanaStackServiceAccountToken {
    type Issuer = issuer::AccountIssuer;

    fn token_status(&self) -> Option<&TokenStatus> {
        self.status.as_ref()
    }

    fn base(&self) -> Option<&str> {
        self.spec.name.as_deref()
    }

    fn lifetime(&self) -> Result<Option<Duration>, RotationError> {
        Ok(self.spec.seconds_to_live.map(Duration::from_secs))
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
        _status: &TokenStatus,
    ) -> Result<Result<Self::Issuer, String>, Error> {
        issuer::cleanup_source(self, ctx, namespace).await
    }
}

impl ManagedKind for GrafanaStackServiceAccountToken {
    const KIND: &'static str = "GrafanaStackServiceAccountToken";
    const OWNS_SECRETS: bool = true;
    const WATCHES_CREDENTIALS: bool = false;

    /// Tokens use their account's credentials, so they name none themselves.
    fn credentials(&self) -> Option<&CredentialsRef> {
        None
    }

    async fn apply(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        token::apply(obj, ctx).await
    }

    async fn cleanup(obj: &Self, ctx: &Context) -> Result<Action, Error> {
        token::cleanup(obj, ctx).await
    }

    /// Its account, and the GrafanaStacks of its namespace (the Secret carries the stack's
    /// URL).
    fn watches(
        controller: Controller<Self>,
        kube: &Client,
        scope: Option<&str>,
        store: &Store<Self>,
    ) -> Controller<Self> {
        let accounts: Api<GrafanaStackServiceAccount> = super::scoped_api(kube, scope);
        let stacks: Api<GrafanaStack> = super::scoped_api(kube, scope);
        let (by_account, by_stack) = (store.clone(), store.clone());
        controller
            .watches(
                accounts,
                watcher::Config::default().any_semantic(),
                move |account: GrafanaStackServiceAccount| {
                    users_in(&by_account, account.namespace().as_deref(), |t| {
                        t.spec.service_account_ref == account.name_any()
                    })
                },
            )
            .watches(
                stacks,
                watcher::Config::default().any_semantic(),
                // Which account sits on which stack is not in this store: wake the
                // namespace's tokens (a stack's status changes rarely).
                move |stack: GrafanaStack| {
                    users_in(&by_stack, stack.namespace().as_deref(), |_| true)
                },
            )
    }
}
