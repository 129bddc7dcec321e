//! Kubeconfigs and clients that act as a ServiceAccount, for RBAC tests.

use std::path::PathBuf;

use k8s_openapi::api::{
    authentication::v1::{TokenRequest, TokenRequestSpec},
    core::v1::{Namespace, ServiceAccount},
};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};

use crate::{
    ControlPlane,
    error::{Result, kube as kube_err},
    kubeconfig::{self, Credentials},
};

const TOKEN_SECONDS: i64 = 6 * 60 * 60;

impl ControlPlane {
    /// Writes a kubeconfig that authenticates as ServiceAccount `ns/name`
    /// with a TokenRequest token, and returns its path. The namespace and the
    /// ServiceAccount are created if missing. The identity has only the
    /// permissions RBAC grants it.
    pub async fn service_account_kubeconfig(&self, ns: &str, name: &str) -> Result<PathBuf> {
        let client = self.client();
        let post = PostParams::default();
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.to_owned()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        ignore_conflict(
            Api::<Namespace>::all(client.clone())
                .create(&post, &namespace)
                .await,
        )
        .map_err(kube_err(format!("create namespace {ns}")))?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, ns);
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        ignore_conflict(accounts.create(&post, &account).await)
            .map_err(kube_err(format!("create service account {ns}/{name}")))?;
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: Vec::new(),
                expiration_seconds: Some(TOKEN_SECONDS),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let token = accounts
            .create_token_request(name, &post, &request)
            .await
            .map_err(kube_err(format!(
                "request a token for service account {ns}/{name}"
            )))?
            .status
            .map(|status| status.token)
            .unwrap_or_default();
        let path = self
            .root
            .path()
            .join("kubeconfigs")
            .join(format!("sa-{ns}-{name}.kubeconfig"));
        kubeconfig::write(
            &path,
            self.server_url(),
            &self.pki,
            Credentials::Token(&token),
        )?;
        Ok(path)
    }

    /// A client that acts as ServiceAccount `ns/name`
    /// (see [`ControlPlane::service_account_kubeconfig`]).
    pub async fn service_account_client(&self, ns: &str, name: &str) -> Result<kube::Client> {
        let path = self.service_account_kubeconfig(ns, name).await?;
        kubeconfig::client(&path).await
    }
}

fn ignore_conflict<T>(result: kube::Result<T>) -> kube::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(err) => Err(err),
    }
}
