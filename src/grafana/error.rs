//! Errors of the grafana.com client, and the questions controllers ask them.

use std::{fmt, time::Duration};

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
            | Self::ListAccessPolicies { source, .. }
            | Self::GetAccessPolicyConfig { source, .. }
            | Self::CreateAccessPolicy { source, .. }
            | Self::UpdateAccessPolicy { source, .. }
            | Self::DeleteAccessPolicy { source, .. }
            | Self::ListPolicyTokens { source, .. }
            | Self::CreatePolicyToken { source, .. }
            | Self::DeletePolicyToken { source, .. } => Some(source),
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

    /// Worth retrying later: 429, 5xx, a network error or a timeout.
    pub fn is_transient(&self) -> bool {
        self.request().is_some_and(RequestError::is_transient)
    }
}

/// One request that failed, after the client's own retries.
#[derive(Debug, thiserror::Error)]
///
/// The request id and the number of attempts are fields, not part of the message: they
/// are logged as fields, and a condition message stays the same when a failure repeats.
#[error("{failure}")]
pub struct RequestError {
    // Boxed to keep `Error` small on the happy path.
    pub failure: Box<Failure>,
    /// The `x-request-id` sent with every attempt of this call.
    pub request_id: String,
    pub attempts: u32,
}

/// Why a request failed.
#[derive(Debug)]
pub enum Failure {
    /// grafana.com answered with a non-success status.
    Status {
        status: u16,
        code: Option<String>,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    /// The token cannot be sent in an HTTP header (it holds control characters).
    InvalidToken,
    /// No complete answer within the client timeout.
    Timeout,
    /// The connection could not be made or was dropped.
    Network(reqwest::Error),
    /// Not sent: this replica may no longer hold the leader lease.
    Fenced,
    /// The answer's body was larger than the client reads.
    BodyTooLarge { limit_bytes: usize },
    /// A list kept announcing more pages past the most the client follows.
    EndlessPaging { pages: usize },
    /// The answer was not the JSON we expected. Only the position is kept, so
    /// that no part of the body (possibly a key) ends up in an error message.
    Decode {
        category: &'static str,
        line: usize,
        column: usize,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                status,
                code,
                message,
                ..
            } => {
                write!(f, "grafana.com answered {status}")?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            Self::InvalidToken => {
                f.write_str("the token contains characters that cannot be sent in an HTTP header")
            }
            Self::Timeout => f.write_str("the request timed out"),
            Self::Fenced => {
                f.write_str("not sent: this replica may no longer hold the leader lease")
            }
            Self::BodyTooLarge { limit_bytes } => write!(
                f,
                "the response body is larger than {} KiB, more than grafana.com sends",
                limit_bytes / 1024
            ),
            Self::EndlessPaging { pages } => write!(
                f,
                "the list still announced more items after {pages} pages; no partial list is used"
            ),
            Self::Network(source) => {
                write!(f, "the connection failed: {source}")?;
                // reqwest's own message omits the cause ("connection refused", …).
                let mut root: &dyn std::error::Error = source;
                while let Some(inner) = root.source() {
                    root = inner;
                }
                if !std::ptr::addr_eq(root, source as &dyn std::error::Error) {
                    write!(f, ": {root}")?;
                }
                Ok(())
            }
            Self::Decode {
                category,
                line,
                column,
            } => write!(
                f,
                "the response body is not what grafana.com sends ({category} error at line {line} column {column})"
            ),
        }
    }
}

impl RequestError {
    pub fn status(&self) -> Option<u16> {
        match *self.failure {
            Failure::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        match self.failure.as_ref() {
            Failure::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self.failure.as_ref() {
            Failure::Status { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match *self.failure {
            Failure::Status { retry_after, .. } => retry_after,
            _ => None,
        }
    }

    pub fn category(&self) -> &'static str {
        match self.failure.as_ref() {
            Failure::InvalidToken => "unauthorized",
            Failure::Timeout => "timeout",
            Failure::Fenced => "fenced",
            Failure::Network(_) => "network",
            Failure::Decode { .. }
            | Failure::BodyTooLarge { .. }
            | Failure::EndlessPaging { .. } => "decode",
            Failure::Status { status, .. } => match status {
                401 | 403 => "unauthorized",
                404 => "not_found",
                429 => "rate_limited",
                500..=599 => "server_error",
                _ if self.is_invalid_argument() => "invalid_argument",
                409 => "conflict",
                _ => "client_error",
            },
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(*self.failure, Failure::InvalidToken) || matches!(self.status(), Some(401 | 403))
    }

    pub fn deleted_recently_wait(&self) -> Option<Duration> {
        if self.status() != Some(409) {
            return None;
        }
        self.message()
            .and_then(parse_wait_seconds)
            .map(|seconds| Duration::from_secs(seconds).min(super::retry::MAX_SERVER_WAIT))
    }

    pub fn is_slug_unavailable(&self) -> bool {
        // "That url is not available: … deleted recently, wait for 30s" is
        // temporary, not someone else's slug.
        self.status() == Some(409)
            && self.deleted_recently_wait().is_none()
            && (self.code() == Some("SlugUnavailable")
                || self
                    .message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("url is not available")))
    }

    pub fn is_invalid_argument(&self) -> bool {
        match self.status() {
            Some(400 | 422) => true,
            Some(409) => {
                !self.is_slug_unavailable()
                    && self.deleted_recently_wait().is_none()
                    && (self.code() == Some("InvalidArgument")
                        || self.message().is_some_and(|m| {
                            m.to_ascii_lowercase().starts_with("invalid argument")
                        }))
            }
            _ => false,
        }
    }

    pub fn is_transient(&self) -> bool {
        match self.failure.as_ref() {
            Failure::Timeout | Failure::Network(_) | Failure::Fenced => true,
            Failure::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            Failure::Decode { .. }
            | Failure::InvalidToken
            | Failure::BodyTooLarge { .. }
            | Failure::EndlessPaging { .. } => false,
        }
    }
}

/// Finds `wait for <N>s` in a grafana.com message and returns N.
pub(crate) fn parse_wait_seconds(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    lower.match_indices("wait for").find_map(|(at, needle)| {
        let rest = lower[at + needle.len()..].trim_start();
        let digits: &str = &rest[..rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len())];
        let unit = rest[digits.len()..].trim_start();
        // "30s", "30 s", "30 seconds".
        // Digits too many for a u64 still mean "a long time"; the caller caps the wait.
        (!digits.is_empty() && unit.starts_with('s')).then(|| digits.parse().unwrap_or(u64::MAX))
    })
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
