//! Errors of the controllers, how they map to condition reasons, and how soon to retry.

use std::time::Duration;

use crate::grafana;

use super::secret;

use super::{
    conditions::Reason,
    requeue::{BLOCKED_RETRY, SLOW_RETRY, SLUG_WAIT_MARGIN, backoff, server_wait},
};

/// A reconcile failure. Variants are named after what the operator tried to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("credentials Secret {namespace}/{name} does not exist")]
    CredentialsSecretMissing { namespace: String, name: String },
    #[error("credentials Secret {namespace}/{name} has no key {key:?}")]
    CredentialsKeyMissing {
        namespace: String,
        name: String,
        key: String,
    },
    #[error(
        "the resource has no spec.credentials and namespace {namespace} is not allowed to use \
         the operator's default credentials"
    )]
    NoDefaultCredentials { namespace: String },
    #[error("credentials Secret {namespace}/{name} has no orgSlug, which organisation keys need")]
    OrgSlugMissing { namespace: String, name: String },
    #[error("failed to read {kind} {namespace}/{name}: {source}")]
    ReadObject {
        kind: &'static str,
        namespace: String,
        name: String,
        source: Box<kube::Error>,
    },
    #[error("failed to write {kind} {namespace}/{name}: {source}")]
    WriteObject {
        kind: &'static str,
        namespace: String,
        name: String,
        source: Box<kube::Error>,
    },
    #[error("failed to write the status of {namespace}/{name}: {source}")]
    WriteStatus {
        namespace: String,
        name: String,
        source: Box<kube::Error>,
    },
    #[error("invalid spec: {reason}")]
    InvalidSpec { reason: String },
    #[error("invalid spec: {0}")]
    Template(#[from] secret::TemplateError),
    #[error("invalid spec: {0}")]
    Rotation(#[from] RotationError),
    #[error("{kind} {name} has no uid yet, so nothing it owns can be written")]
    NoOwnerReference { kind: &'static str, name: String },
    #[error("stack slug {slug} belongs to another organisation or resource{}", answered(.source.as_ref()))]
    SlugUnavailable {
        slug: String,
        /// grafana.com's refusal, when it refused the create.
        #[source]
        source: Option<grafana::Error>,
    },
    #[error(
        "stack slug {slug} belongs to another organisation or resource: a stack with this slug \
         exists and was not created by this resource; set the annotation \
         grafanacloud.operator.dev/adopt: \"true\" to manage it"
    )]
    SlugNotAdopted { slug: String },
    #[error("stack slug {slug} was deleted recently; retrying in {wait:?}")]
    SlugRecentlyDeleted { slug: String, wait: Duration },
    #[error("grafana.com refused to delete stack {slug} (is delete protection on?): {source}")]
    DeleteBlocked {
        slug: String,
        #[source]
        source: grafana::Error,
    },
    #[error(transparent)]
    Grafana(#[from] grafana::Error),
    #[error("resource has no namespace")]
    MissingNamespace,
    #[error("the API server refused Secret {namespace}/{name}: {message}")]
    SecretRejected {
        namespace: String,
        name: String,
        /// The API server's own message (never the Secret's content).
        message: String,
    },
    #[error("{source}; grafana.com no longer serves API keys: {instead}")]
    EndpointRemoved {
        #[source]
        source: grafana::Error,
        /// What to use instead.
        instead: &'static str,
    },
    #[error("{kind} {name} is not deleted yet: {waits_for}")]
    DeleteWaits {
        kind: &'static str,
        name: String,
        /// What has to go first.
        waits_for: String,
    },
    #[error("the operator failed unexpectedly on this resource (a bug); retrying with backoff")]
    Panicked,
    #[error("not written: this replica may no longer hold the leader lease")]
    Fenced,
    #[error("failed to run the finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

/// `spec.rotation` that the operator cannot follow.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("rotation.renewBefore {0:?} is not a duration such as 1h or 30m")]
    NotADuration(String),
    #[error("rotation needs a positive secondsToLive")]
    NoLifetime,
    #[error(
        "rotation.renewBefore ({renew_before}) must be at least {min_age_secs}s shorter than \
         secondsToLive ({ttl_secs}s)"
    )]
    TooLong {
        renew_before: String,
        min_age_secs: u64,
        ttl_secs: u64,
    },
    #[error("expiresAfter must be between {min_secs}s and {max_secs}s")]
    LifetimeOutOfRange { min_secs: u64, max_secs: u64 },
    #[error(
        "rotation.keepPrevious ({keep_previous}) must not be longer than rotation.renewBefore \
         ({renew_before}): the previous token must still work while it is kept"
    )]
    OverlapTooLong {
        keep_previous: String,
        renew_before: String,
    },
}

/// ": <grafana.com's answer>" after a message, when there is one.
fn answered(source: Option<&grafana::Error>) -> String {
    source.map(|err| format!(": {err}")).unwrap_or_default()
}

impl Error {
    /// The `x-request-id` of the grafana.com call that failed, if one did: logged as a
    /// field, never part of a message.
    pub fn request_id(&self) -> Option<&str> {
        self.grafana().and_then(grafana::Error::request_id)
    }

    /// Attempts of the grafana.com call that failed, if one did.
    pub fn attempts(&self) -> Option<u32> {
        self.grafana().and_then(grafana::Error::attempts)
    }

    fn grafana(&self) -> Option<&grafana::Error> {
        match self {
            Self::Grafana(err)
            | Self::DeleteBlocked { source: err, .. }
            | Self::EndpointRemoved { source: err, .. } => Some(err),
            Self::SlugUnavailable { source, .. } => source.as_ref(),
            Self::Finalizer(err) => match err.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner.grafana(),
                _ => None,
            },
            _ => None,
        }
    }

    /// An API key call's error: a 404 or 410 means the route is gone at grafana.com
    /// ([`Error::EndpointRemoved`]), anything else is what it is.
    pub fn from_api_key_call(source: grafana::Error, stack_key: bool) -> Self {
        if !matches!(source.status(), Some(404 | 410)) {
            return Self::Grafana(source);
        }
        let instead = match stack_key {
            false => "use a GrafanaCloudAccessPolicy with a GrafanaCloudAccessPolicyToken instead",
            true => {
                "use a GrafanaStackServiceAccount with a GrafanaStackServiceAccountToken \
                 instead; for remote write, logs, traces and OTLP use a \
                 GrafanaCloudAccessPolicyToken"
            }
        };
        Self::EndpointRemoved { source, instead }
    }

    /// Fixed label for metrics and events: never built from dynamic text.
    pub fn category(&self) -> &'static str {
        match self {
            Self::CredentialsSecretMissing { .. }
            | Self::CredentialsKeyMissing { .. }
            | Self::NoDefaultCredentials { .. }
            | Self::OrgSlugMissing { .. } => "credentials",
            Self::ReadObject { .. } | Self::WriteObject { .. } | Self::WriteStatus { .. } => {
                "kubernetes"
            }
            Self::InvalidSpec { .. } | Self::Template(_) | Self::Rotation(_) => "invalid_spec",
            Self::NoOwnerReference { .. } => "internal",
            Self::SlugUnavailable { .. } | Self::SlugNotAdopted { .. } => "slug_unavailable",
            Self::SlugRecentlyDeleted { .. } => "slug_recently_deleted",
            Self::DeleteBlocked { .. } => "delete_blocked",
            Self::Grafana(err) => err.category(),
            Self::MissingNamespace => "invalid_spec",
            Self::SecretRejected { .. } => "secret_rejected",
            Self::EndpointRemoved { .. } => "endpoint_removed",
            Self::DeleteWaits { .. } => "delete_waits",
            Self::Panicked => "internal",
            Self::Fenced => "fenced",
            Self::Finalizer(err) => match err.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner.category(),
                _ => "kubernetes",
            },
        }
    }

    /// The condition reason this error shows to the user.
    pub fn reason(&self) -> Reason {
        match self {
            Self::CredentialsSecretMissing { .. }
            | Self::CredentialsKeyMissing { .. }
            | Self::NoDefaultCredentials { .. } => Reason::CredentialsNotFound,
            Self::OrgSlugMissing { .. }
            | Self::InvalidSpec { .. }
            | Self::Template(_)
            | Self::Rotation(_)
            | Self::MissingNamespace => Reason::InvalidSpec,
            Self::NoOwnerReference { .. } => Reason::InternalError,
            Self::ReadObject { .. } | Self::WriteObject { .. } | Self::WriteStatus { .. } => {
                Reason::KubernetesError
            }
            Self::SlugUnavailable { .. } | Self::SlugNotAdopted { .. } => Reason::SlugUnavailable,
            Self::SlugRecentlyDeleted { .. } => Reason::SlugRecentlyDeleted,
            Self::DeleteBlocked { .. } => Reason::DeleteBlocked,
            Self::SecretRejected { .. } => Reason::SecretRejected,
            Self::EndpointRemoved { .. } => Reason::EndpointRemoved,
            Self::DeleteWaits { .. } => Reason::Deleting,
            Self::Panicked => Reason::InternalError,
            Self::Fenced => Reason::KubernetesError,
            Self::Grafana(err) if lacks_scope(err) => Reason::MissingScope,
            Self::Grafana(err) if err.is_unauthorized() => Reason::Unauthorized,
            Self::Grafana(err) if err.status() == Some(429) => Reason::RateLimited,
            Self::Grafana(err) if err.is_invalid_argument() => Reason::InvalidSpec,
            Self::Grafana(_) => Reason::ApiError,
            Self::Finalizer(err) => match err.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner.reason(),
                _ => Reason::KubernetesError,
            },
        }
    }

    /// The text for a condition message. It holds no per-request details such as request
    /// ids (those are fields), so repeating the same failure does not rewrite status.
    pub fn condition_message(&self) -> String {
        self.to_string()
    }

    /// How soon to try again after this error, given how many times in a row the resource
    /// has failed. `None` means: wait for a change to the resource or a watched Secret.
    pub fn retry_after(&self, failures: u32) -> Option<Duration> {
        match self {
            Self::Finalizer(err) => match err.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(inner)
                | kube::runtime::finalizer::Error::CleanupFailed(inner) => {
                    inner.retry_after(failures)
                }
                _ => Some(backoff(failures)),
            },
            // Fixing these takes a user action that triggers a new reconcile by itself.
            Self::CredentialsSecretMissing { .. }
            | Self::CredentialsKeyMissing { .. }
            | Self::OrgSlugMissing { .. }
            | Self::InvalidSpec { .. }
            | Self::Template(_)
            | Self::Rotation(_)
            | Self::EndpointRemoved { .. }
            | Self::MissingNamespace => None,
            // The namespace's labels may change, and that is not watched: look again slowly.
            Self::NoDefaultCredentials { .. } => Some(SLOW_RETRY),
            // Someone else may release the slug; look again slowly.
            Self::SlugUnavailable { .. } | Self::SlugNotAdopted { .. } => Some(SLOW_RETRY),
            Self::SlugRecentlyDeleted { wait, .. } => {
                Some(server_wait(*wait).saturating_add(SLUG_WAIT_MARGIN))
            }
            // What it waits for is watched; look again now and then all the same.
            Self::DeleteWaits { .. } => Some(BLOCKED_RETRY),
            // Someone has to lift the protection or switch to Retain; look again slowly.
            Self::DeleteBlocked { .. } => Some(BLOCKED_RETRY),
            Self::ReadObject { .. } | Self::WriteObject { .. } | Self::WriteStatus { .. } => {
                Some(backoff(failures))
            }
            // A quota or policy may be lifted without any change the operator sees: look
            // again, more and more slowly, so that at most one attempt is made per step.
            Self::SecretRejected { .. }
            | Self::Panicked
            | Self::Fenced
            | Self::NoOwnerReference { .. } => Some(backoff(failures)),
            Self::Grafana(err) => grafana_retry(err, failures),
        }
    }
}

/// A 403 whose message names a scope: the operator's own token lacks that scope.
fn lacks_scope(err: &grafana::Error) -> bool {
    err.status() == Some(403)
        && err
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("scope"))
}

/// Retry delay after a grafana.com error.
fn grafana_retry(err: &grafana::Error, failures: u32) -> Option<Duration> {
    if err.is_unauthorized() {
        return Some(SLOW_RETRY);
    }
    if let Some(after) = err.retry_after() {
        return Some(server_wait(after).max(Duration::from_secs(1)));
    }
    if err.is_invalid_argument() || err.is_slug_unavailable() {
        return None;
    }
    Some(backoff(failures))
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
