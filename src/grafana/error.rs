//! Errors of the grafana.com client, and the questions controllers ask them.

use std::time::Duration;

pub use super::failure::{Failure, RequestError};

/// An error from the grafana.com client. Each variant names the operation that
/// failed and carries the [`RequestError`] that says why.
///
/// Neither `Display` nor `Debug` ever contains a token: the client never puts
/// one in an error, and response bodies are reduced to grafana.com's `code`
/// and `message`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to list the stacks of org {org}: {source}")]
    ListStacks { org: String, source: RequestError },
    #[error("failed to get stack {slug}: {source}")]
    GetStack { slug: String, source: RequestError },
    #[error("failed to create stack {slug}: {source}")]
    CreateStack { slug: String, source: RequestError },
    #[error("failed to update stack {slug}: {source}")]
    UpdateStack { slug: String, source: RequestError },
    #[error("failed to delete stack {slug}: {source}")]
    DeleteStack { slug: String, source: RequestError },
    #[error("failed to check the readiness of stack {id}: {source}")]
    CheckStackReadiness { id: u64, source: RequestError },
    #[error("failed to restart stack {slug}: {source}")]
    RestartStack { slug: String, source: RequestError },
    #[error("failed to list the data sources of stack {slug}: {source}")]
    ListDatasources { slug: String, source: RequestError },
    #[error("failed to delete data source {id} of stack {slug}: {source}")]
    DeleteDatasource {
        slug: String,
        id: u64,
        source: RequestError,
    },
    #[error("failed to read org {org}: {source}")]
    GetOrg { org: String, source: RequestError },
    #[error("failed to read the connections of stack {slug}: {source}")]
    GetConnections { slug: String, source: RequestError },
    #[error("failed to list the plugins of stack {stack}: {source}")]
    ListPlugins { stack: String, source: RequestError },
    #[error("failed to install plugin {plugin} on stack {stack}: {source}")]
    InstallPlugin {
        stack: String,
        plugin: String,
        source: RequestError,
    },
    #[error("failed to change the version of plugin {plugin} on stack {stack}: {source}")]
    ChangePlugin {
        stack: String,
        plugin: String,
        source: RequestError,
    },
    #[error("failed to remove plugin {plugin} from stack {stack}: {source}")]
    RemovePlugin {
        stack: String,
        plugin: String,
        source: RequestError,
    },
    #[error("failed to list the access policies in region {region}: {source}")]
    ListAccessPolicies {
        region: String,
        source: RequestError,
    },
    #[error("failed to read the access policy options of region {region}: {source}")]
    GetAccessPolicyConfig {
        region: String,
        source: RequestError,
    },
    #[error("failed to create access policy {name}: {source}")]
    CreateAccessPolicy { name: String, source: RequestError },
    #[error("failed to update access policy {name}: {source}")]
    UpdateAccessPolicy { name: String, source: RequestError },
    #[error("failed to delete access policy {name}: {source}")]
    DeleteAccessPolicy { name: String, source: RequestError },
    #[error("failed to list the access policy tokens in region {region}: {source}")]
    ListPolicyTokens {
        region: String,
        source: RequestError,
    },
    #[error("failed to create access policy token {name}: {source}")]
    CreatePolicyToken { name: String, source: RequestError },
    #[error("failed to delete access policy token {name}: {source}")]
    DeletePolicyToken { name: String, source: RequestError },
    #[error("failed to list the service accounts of stack {stack}: {source}")]
    ListServiceAccounts { stack: String, source: RequestError },
    #[error("failed to create service account {name}: {source}")]
    CreateServiceAccount { name: String, source: RequestError },
    #[error("failed to delete service account {name}: {source}")]
    DeleteServiceAccount { name: String, source: RequestError },
    #[error("failed to list the tokens of service account {account} of stack {stack}: {source}")]
    ListAccountTokens {
        stack: String,
        account: u64,
        source: RequestError,
    },
    #[error("failed to create service account token {name}: {source}")]
    CreateAccountToken { name: String, source: RequestError },
    #[error("failed to delete service account token {name}: {source}")]
    DeleteAccountToken { name: String, source: RequestError },
    #[error("failed to list the API keys of org {org}: {source}")]
    ListOrgApiKeys { org: String, source: RequestError },
    #[error("failed to create API key {name} in org {org}: {source}")]
    CreateOrgApiKey {
        org: String,
        name: String,
        source: RequestError,
    },
    #[error("failed to delete API key {name} of org {org}: {source}")]
    DeleteOrgApiKey {
        org: String,
        name: String,
        source: RequestError,
    },
    #[error("failed to create API key {name} in stack {slug}: {source}")]
    CreateStackApiKey {
        slug: String,
        name: String,
        source: RequestError,
    },
    #[error("failed to use {url} as the grafana.com API URL: {reason}")]
    InvalidBaseUrl { url: String, reason: &'static str },
    #[error("failed to configure TLS for grafana.com: {source}")]
    ConfigureTls { source: rustls::Error },
    #[error("failed to build the grafana.com HTTP client: {source}")]
    BuildClient { source: reqwest::Error },
}

impl Error {
    /// The failed request, for every variant that made one.
    pub fn request(&self) -> Option<&RequestError> {
        match self {
            Self::ListStacks { source, .. }
            | Self::GetStack { source, .. }
            | Self::CreateStack { source, .. }
            | Self::UpdateStack { source, .. }
            | Self::DeleteStack { source, .. }
            | Self::CheckStackReadiness { source, .. }
            | Self::RestartStack { source, .. }
            | Self::ListDatasources { source, .. }
            | Self::DeleteDatasource { source, .. }
            | Self::ListOrgApiKeys { source, .. }
            | Self::CreateOrgApiKey { source, .. }
            | Self::DeleteOrgApiKey { source, .. }
            | Self::CreateStackApiKey { source, .. }
            | Self::GetOrg { source, .. }
            | Self::GetConnections { source, .. }
            | Self::ListPlugins { source, .. }
            | Self::InstallPlugin { source, .. }
            | Self::ChangePlugin { source, .. }
            | Self::RemovePlugin { source, .. }
            | Self::ListAccessPolicies { source, .. }
            | Self::GetAccessPolicyConfig { source, .. }
            | Self::CreateAccessPolicy { source, .. }
            | Self::UpdateAccessPolicy { source, .. }
            | Self::DeleteAccessPolicy { source, .. }
            | Self::ListPolicyTokens { source, .. }
            | Self::CreatePolicyToken { source, .. }
            | Self::DeletePolicyToken { source, .. }
            | Self::ListServiceAccounts { source, .. }
            | Self::CreateServiceAccount { source, .. }
            | Self::DeleteServiceAccount { source, .. }
            | Self::ListAccountTokens { source, .. }
            | Self::CreateAccountToken { source, .. }
            | Self::DeleteAccountToken { source, .. } => Some(source),
            Self::InvalidBaseUrl { .. } | Self::ConfigureTls { .. } | Self::BuildClient { .. } => {
                None
            }
        }
    }

    /// A fixed, low-cardinality label for metrics and event reasons: one of
    /// `unauthorized`, `not_found`, `conflict`, `invalid_argument`,
    /// `rate_limited`, `server_error`, `client_error`, `network`, `timeout`,
    /// `decode` and `configuration`.
    pub fn category(&self) -> &'static str {
        self.request()
            .map_or("configuration", RequestError::category)
    }

    /// The HTTP status grafana.com answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.request().and_then(RequestError::status)
    }

    /// grafana.com's error `code`, such as `InvalidArgument`.
    pub fn code(&self) -> Option<&str> {
        self.request().and_then(RequestError::code)
    }

    /// grafana.com's error `message`.
    pub fn message(&self) -> Option<&str> {
        self.request().and_then(RequestError::message)
    }

    /// The `x-request-id` the client sent, to correlate with grafana.com support.
    pub fn request_id(&self) -> Option<&str> {
        self.request().map(|r| r.request_id.as_str())
    }

    /// How many attempts the client made, its own retries included.
    pub fn attempts(&self) -> Option<u32> {
        self.request().map(|r| r.attempts)
    }

    pub fn is_not_found(&self) -> bool {
        self.request().is_some_and(RequestError::is_not_found)
    }

    /// 401 or 403: the token is wrong or lacks the role.
    pub fn is_unauthorized(&self) -> bool {
        self.request().is_some_and(RequestError::is_unauthorized)
    }

    /// 403 only: the token is valid but may not see this object. grafana.com
    /// also answers 403 for a stack that belongs to another org.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// How long grafana.com asked us to wait (429, or 503 while a stack loads).
    pub fn retry_after(&self) -> Option<Duration> {
        self.request().and_then(RequestError::retry_after)
    }

    /// For a 409 "deleted recently … wait for Ns": the N seconds to wait.
    pub fn deleted_recently_wait(&self) -> Option<Duration> {
        self.request().and_then(RequestError::deleted_recently_wait)
    }

    /// The slug (the stack URL) belongs to someone else.
    pub fn is_slug_unavailable(&self) -> bool {
        self.request()
            .is_some_and(RequestError::is_slug_unavailable)
    }

    /// grafana.com rejected the request's content (400, or 409 `InvalidArgument`).
    pub fn is_invalid_argument(&self) -> bool {
        self.request()
            .is_some_and(RequestError::is_invalid_argument)
    }

    /// The name is taken: a 400 `…ErrAlreadyExists` or `…ErrTokenAlreadyExists` from a
    /// stack's Grafana (service accounts and their tokens).
    pub fn is_name_taken(&self) -> bool {
        self.status() == Some(400)
            && self.code().is_some_and(|c| {
                c.ends_with("ErrAlreadyExists") || c.ends_with("ErrTokenAlreadyExists")
            })
    }

    /// Worth retrying later: 429, 5xx, a network error or a timeout.
    pub fn is_transient(&self) -> bool {
        self.request().is_some_and(RequestError::is_transient)
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
