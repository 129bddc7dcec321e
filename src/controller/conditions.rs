//! The `Ready` condition and its reasons: pure helpers shared by both controllers.

use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
    jiff::Timestamp,
};

/// Type of the condition every resource carries.
pub const READY: &str = "Ready";

/// Why a resource is, or is not, Ready. The string forms are part of the API: users and
/// alerts match on them, and the README documents each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The remote object exists and is ready.
    Ready,
    /// A stack exists but its readiness check does not pass yet.
    StackProvisioning,
    /// The stack's slug belongs to something this resource may not manage.
    SlugUnavailable,
    /// The slug was deleted recently and is reserved for a while.
    SlugRecentlyDeleted,
    /// The spec is valid for Kubernetes but grafana.com or the operator rejects it.
    InvalidSpec,
    /// The credentials Secret, or the key in it, does not exist.
    CredentialsNotFound,
    /// grafana.com rejected the token.
    Unauthorized,
    /// grafana.com asked the operator to slow down.
    RateLimited,
    /// grafana.com or the network failed; the operator retries with backoff.
    ApiError,
    /// A Secret with the target name exists and is not owned by this resource.
    SecretConflict,
    /// A stack key waits for its GrafanaStack to become Ready.
    StackNotReady,
    /// An organisation API key with the key's name exists and was not created by this
    /// resource; it is never touched.
    KeyConflict,
    /// The resource is being deleted and the remote object is being removed.
    Deleting,
    /// grafana.com refused to delete the object (for example delete protection).
    DeleteBlocked,
    /// Kubernetes itself failed (a Secret or status write).
    KubernetesError,
    /// The API server refused the Secret that would hold the token (an admission policy, a
    /// ResourceQuota, the size limit), so no key or token is created.
    SecretRejected,
    /// A stack key is due for replacement, but the last one is younger than the minimum
    /// age: stack keys cannot be revoked, so they are never replaced in a loop.
    ReplacementDelayed,
    /// The operator failed on this resource in a way it did not expect (a bug); the other
    /// resources are not affected, and this one is retried with backoff.
    InternalError,
    /// An access policy, service account or token with the resource's name exists at
    /// grafana.com and was not created by this resource; it is never touched.
    NameConflict,
    /// A token waits for its GrafanaCloudAccessPolicy to become Ready.
    PolicyNotReady,
    /// A token waits for its GrafanaStackServiceAccount to become Ready.
    ServiceAccountNotReady,
    /// grafana.com no longer serves this kind of object (API keys); the message names the
    /// kind to use instead. Nothing is retried until the spec changes.
    EndpointRemoved,
    /// grafana.com refused the call because the operator's credentials lack a scope; the
    /// message quotes which.
    MissingScope,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::StackProvisioning => "StackProvisioning",
            Self::SlugUnavailable => "SlugUnavailable",
            Self::SlugRecentlyDeleted => "SlugRecentlyDeleted",
            Self::InvalidSpec => "InvalidSpec",
            Self::CredentialsNotFound => "CredentialsNotFound",
            Self::Unauthorized => "Unauthorized",
            Self::RateLimited => "RateLimited",
            Self::ApiError => "ApiError",
            Self::SecretConflict => "SecretConflict",
            Self::StackNotReady => "StackNotReady",
            Self::KeyConflict => "KeyConflict",
            Self::Deleting => "Deleting",
            Self::DeleteBlocked => "DeleteBlocked",
            Self::KubernetesError => "KubernetesError",
            Self::SecretRejected => "SecretRejected",
            Self::ReplacementDelayed => "ReplacementDelayed",
            Self::InternalError => "InternalError",
            Self::NameConflict => "NameConflict",
            Self::PolicyNotReady => "PolicyNotReady",
            Self::ServiceAccountNotReady => "ServiceAccountNotReady",
            Self::EndpointRemoved => "EndpointRemoved",
            Self::MissingScope => "MissingScope",
        }
    }
}

/// A Ready condition to set on a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub reason: Reason,
    pub message: String,
}

impl Readiness {
    pub fn ready(message: impl Into<String>) -> Self {
        Self {
            ready: true,
            reason: Reason::Ready,
            message: message.into(),
        }
    }

    pub fn not_ready(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            ready: false,
            reason,
            message: message.into(),
        }
    }
}

/// Returns `conditions` with the Ready condition replaced by `readiness`. The transition time
/// only moves when the status flips, as the Kubernetes condition convention requires.
pub fn with_ready(
    conditions: &[Condition],
    readiness: &Readiness,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let status = if readiness.ready { "True" } else { "False" };
    let previous = conditions.iter().find(|c| c.type_ == READY);
    let last_transition_time = match previous {
        Some(prev) if prev.status == status => prev.last_transition_time.clone(),
        _ => Time(now),
    };
    let ready = Condition {
        type_: READY.to_string(),
        status: status.to_string(),
        reason: readiness.reason.as_str().to_string(),
        message: readiness.message.clone(),
        observed_generation: generation,
        last_transition_time,
    };
    let mut out: Vec<Condition> = conditions
        .iter()
        .filter(|c| c.type_ != READY)
        .cloned()
        .collect();
    out.insert(0, ready);
    out
}

/// The Ready condition, if present.
pub fn ready_condition(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == READY)
}

/// Whether the conditions say Ready=True.
pub fn is_ready(conditions: &[Condition]) -> bool {
    ready_condition(conditions).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("valid timestamp")
    }

    #[test]
    fn first_condition_records_transition_time() {
        let out = with_ready(&[], &Readiness::ready("stack is ready"), Some(3), at(100));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].status, "True");
        assert_eq!(out[0].reason, "Ready");
        assert_eq!(out[0].observed_generation, Some(3));
        assert_eq!(out[0].last_transition_time, Time(at(100)));
    }

    #[test]
    fn same_status_keeps_transition_time_but_updates_reason() {
        let first = with_ready(
            &[],
            &Readiness::not_ready(Reason::ApiError, "a"),
            Some(1),
            at(100),
        );
        let second = with_ready(
            &first,
            &Readiness::not_ready(Reason::RateLimited, "b"),
            Some(2),
            at(200),
        );
        assert_eq!(second[0].last_transition_time, Time(at(100)));
        assert_eq!(second[0].reason, "RateLimited");
        assert_eq!(second[0].message, "b");
        assert!(!is_ready(&second));
    }

    #[test]
    fn flip_moves_transition_time() {
        let first = with_ready(
            &[],
            &Readiness::not_ready(Reason::ApiError, "a"),
            None,
            at(100),
        );
        let second = with_ready(&first, &Readiness::ready("ok"), None, at(200));
        assert_eq!(second[0].last_transition_time, Time(at(200)));
        assert!(is_ready(&second));
    }

    #[test]
    fn other_conditions_are_kept() {
        let other = Condition {
            type_: "Other".into(),
            status: "True".into(),
            reason: "X".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(at(1)),
        };
        let out = with_ready(
            std::slice::from_ref(&other),
            &Readiness::ready("ok"),
            None,
            at(2),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], other);
    }
}
