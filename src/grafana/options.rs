//! How the client is configured, and the hook that feeds request metrics.

use std::{fmt, sync::Arc, time::Duration};

use super::{RetryPolicy, budget::Budget};
use crate::fence::Fence;

/// Receives one call per HTTP attempt, for metrics.
pub trait RequestObserver: Send + Sync {
    /// `endpoint` is a fixed template such as `/instances/{slug}`; `status` is
    /// `None` when no answer arrived (timeout, network error).
    fn observe(&self, endpoint: &'static str, method: &str, status: Option<u16>, elapsed: Duration);

    /// How long one attempt waited for its organisation's request budget.
    fn budget_waited(&self, _waited: Duration) {}
}

/// How the client talks to grafana.com.
#[derive(Clone)]
pub struct ClientOptions {
    /// The limit for each attempt, from connecting to reading the whole body.
    pub timeout: Duration,
    /// Retries after the first attempt (see [`RetryPolicy`] for which failures retry).
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// The longest `Retry-After` the client waits out itself; longer waits
    /// are returned to the caller as errors carrying [`Error::retry_after`].
    pub max_retry_after: Duration,
    /// No retry starts later than this after a call began.
    pub max_elapsed: Duration,
    pub user_agent: String,
    pub observer: Option<Arc<dyn RequestObserver>>,
    /// Per-organisation rate limit; every attempt, retries included, spends from it.
    pub budget: Budget,
    /// Writes (every method but GET) are sent only while this is open: a replica that may
    /// no longer hold the leader lease changes nothing at grafana.com.
    pub fence: Option<Fence>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        Self {
            timeout: Duration::from_secs(30),
            max_retries: retry.max_retries,
            backoff_base: retry.backoff_base,
            backoff_max: retry.backoff_max,
            max_retry_after: retry.max_retry_after,
            max_elapsed: retry.max_elapsed,
            user_agent: concat!("grafana-cloud-operator/", env!("CARGO_PKG_VERSION")).to_owned(),
            observer: None,
            budget: Budget::default(),
            fence: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("max_retry_after", &self.max_retry_after)
            .field("max_elapsed", &self.max_elapsed)
            .field("user_agent", &self.user_agent)
            .field("observer", &self.observer.is_some())
            .field("budget", &self.budget)
            .field("fence", &self.fence)
            .finish()
    }
}
