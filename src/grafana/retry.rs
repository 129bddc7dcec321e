//! When the client retries a failed request on its own, and how long it waits.
//!
//! The rules, in order:
//! - 409 and other 4xx answers are never retried: they need a decision by the caller.
//! - 429, and 503 `Loading` from a stack that is starting, mean the request was
//!   not processed: retry any request after `Retry-After`, unless grafana.com
//!   asks for longer than [`RetryPolicy::max_retry_after`]; then the caller
//!   gets the error and requeues.
//! - Other 5xx answers, timeouts and dropped connections are retried with
//!   bounded exponential backoff and jitter, but only for idempotent requests.
//!   A create may have been committed, so the caller must read back instead.
//! - A connection that could not be opened never reached grafana.com, so any
//!   request can be retried.
//! - No retry starts once [`RetryPolicy::max_elapsed`] has passed since the
//!   call began, so a call never takes much longer than that plus one timeout.

use std::time::{Duration, SystemTime};

/// Bounds on the client's own retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff delay; it doubles with each retry.
    pub backoff_base: Duration,
    /// The largest backoff delay.
    pub backoff_max: Duration,
    /// The longest `Retry-After` the client waits out itself.
    pub max_retry_after: Duration,
    /// No retry starts later than this after the call began.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

/// What a failed attempt looked like, reduced to what the decision needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AttemptOutcome<'a> {
    /// `None` when there was no HTTP answer (timeout, network error).
    pub status: Option<u16>,
    pub code: Option<&'a str>,
    pub retry_after: Option<Duration>,
    /// The connection could not be opened, so the request was never sent.
    pub not_sent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Retry(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// Decides about the attempt that just failed. `retries_done` counts the
    /// retries already made; `jitter` is a random number in `[0, 1)`.
    pub(crate) fn decide(
        &self,
        outcome: &AttemptOutcome<'_>,
        retries_done: u32,
        idempotent: bool,
        jitter: f64,
    ) -> Decision {
        if retries_done >= self.max_retries {
            return Decision::GiveUp;
        }
        let backoff = self.backoff(retries_done, jitter);
        let honour = |retry_after: Option<Duration>, floor: Duration| match retry_after {
            Some(wait) if wait > self.max_retry_after => Decision::GiveUp,
            Some(wait) => Decision::Retry(wait.max(floor)),
            None => Decision::Retry(backoff),
        };
        match outcome.status {
            Some(429) => honour(outcome.retry_after, Duration::ZERO),
            Some(503) if outcome.code == Some("Loading") => {
                honour(outcome.retry_after, Duration::ZERO)
            }
            Some(500..=599) if idempotent => honour(outcome.retry_after, backoff),
            Some(_) => Decision::GiveUp,
            None if idempotent || outcome.not_sent => Decision::Retry(backoff),
            None => Decision::GiveUp,
        }
    }

    /// Whether a retry after `delay`, `elapsed` into the call, fits the budget.
    pub(crate) fn within_budget(&self, elapsed: Duration, delay: Duration) -> bool {
        elapsed.saturating_add(delay) <= self.max_elapsed
    }

    /// Exponential backoff with "equal jitter": half the delay is fixed, the
    /// other half random, so that delays stay bounded but spread out.
    pub(crate) fn backoff(&self, retries_done: u32, jitter: f64) -> Duration {
        let factor = 2u32.saturating_pow(retries_done.min(16));
        let delay = self
            .backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max);
        let half = delay / 2;
        let spread = Duration::try_from_secs_f64(half.as_secs_f64() * jitter.clamp(0.0, 1.0));
        half + spread.unwrap_or(half)
    }
}

/// The longest wait grafana.com can ask for: a longer `Retry-After` or "wait for Ns" counts
/// as this long, so that no answer can park a resource for good or overflow a clock.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(60 * 60);

/// Parses a `Retry-After` value (delay-seconds, fractional or not, or an HTTP date), capped
/// at [`MAX_SERVER_WAIT`]. Values that are no wait at all (negative, not a number) are `None`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        // All digits: too many of them still means "a long time".
        value
            .parse::<u64>()
            .map_or(MAX_SERVER_WAIT, Duration::from_secs)
    } else if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        Duration::try_from_secs_f64(seconds).unwrap_or(MAX_SERVER_WAIT)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let at = SystemTime::from(at.with_timezone(&chrono::Utc));
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_SERVER_WAIT))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(10),
        }
    }

    fn status(code: u16) -> AttemptOutcome<'static> {
        AttemptOutcome {
            status: Some(code),
            ..AttemptOutcome::default()
        }
    }

    #[test]
    fn server_errors_retry_only_idempotent_requests() {
        let p = policy();
        assert!(matches!(
            p.decide(&status(502), 0, true, 0.5),
            Decision::Retry(_)
        ));
        assert_eq!(p.decide(&status(502), 0, false, 0.5), Decision::GiveUp);
    }

    #[test]
    fn conflicts_and_client_errors_are_never_retried() {
        let p = policy();
        for code in [400, 401, 403, 404, 409, 422] {
            assert_eq!(
                p.decide(&status(code), 0, true, 0.5),
                Decision::GiveUp,
                "{code}"
            );
        }
    }

    #[test]
    fn rate_limits_wait_for_retry_after_even_for_creates() {
        let p = policy();
        let limited = AttemptOutcome {
            retry_after: Some(Duration::from_secs(7)),
            ..status(429)
        };
        assert_eq!(
            p.decide(&limited, 0, false, 0.5),
            Decision::Retry(Duration::from_secs(7))
        );
    }

    #[test]
    fn a_retry_after_beyond_the_cap_goes_back_to_the_caller() {
        let p = policy();
        let limited = AttemptOutcome {
            retry_after: Some(Duration::from_secs(3600)),
            ..status(429)
        };
        assert_eq!(p.decide(&limited, 0, true, 0.5), Decision::GiveUp);
    }

    #[test]
    fn a_loading_stack_is_retried_after_its_retry_after() {
        let p = policy();
        let loading = AttemptOutcome {
            code: Some("Loading"),
            retry_after: Some(Duration::from_secs(10)),
            ..status(503)
        };
        assert_eq!(
            p.decide(&loading, 1, false, 0.0),
            Decision::Retry(Duration::from_secs(10))
        );
    }

    #[test]
    fn timeouts_retry_only_idempotent_requests_but_refused_connections_always() {
        let p = policy();
        let timeout = AttemptOutcome::default();
        assert!(matches!(
            p.decide(&timeout, 0, true, 0.5),
            Decision::Retry(_)
        ));
        assert_eq!(p.decide(&timeout, 0, false, 0.5), Decision::GiveUp);
        let refused = AttemptOutcome {
            not_sent: true,
            ..AttemptOutcome::default()
        };
        assert!(matches!(
            p.decide(&refused, 0, false, 0.5),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn retries_stop_after_the_budget() {
        let p = policy();
        assert_eq!(p.decide(&status(503), 3, true, 0.5), Decision::GiveUp);
        assert_eq!(p.decide(&status(429), 3, true, 0.5), Decision::GiveUp);
    }

    #[test]
    fn no_retry_starts_after_the_time_budget() {
        let p = policy();
        assert!(p.within_budget(Duration::from_secs(2), Duration::from_secs(8)));
        assert!(!p.within_budget(Duration::from_secs(9), Duration::from_secs(2)));
        assert!(!p.within_budget(Duration::MAX, Duration::from_secs(1)));
    }

    #[test]
    fn backoff_grows_exponentially_within_bounds() {
        let p = policy();
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 0.0), Duration::from_millis(200));
        assert_eq!(p.backoff(10, 1.0), Duration::from_millis(1000));
        assert_eq!(p.backoff(u32::MAX, 0.999), p.backoff(40, 0.999));
        for n in 0..40 {
            let d = p.backoff(n, 0.7);
            assert!(
                d <= p.backoff_max && d >= Duration::from_millis(50),
                "{n}: {d:?}"
            );
        }
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                now + Duration::from_secs(60)
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn enormous_or_odd_retry_afters_never_panic_and_are_capped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
        for value in [
            "18446744073709551615",
            "99999999999999999999999999",
            "1e30",
            "1.8e19",
            "inf",
            "Infinity",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(
                parse_retry_after(value, now),
                Some(MAX_SERVER_WAIT),
                "{value}"
            );
        }
        for value in ["NaN", "-inf", "-0.5", "", "1e"] {
            assert_eq!(parse_retry_after(value, now), None, "{value}");
        }
        assert_eq!(
            parse_retry_after("3599", now),
            Some(Duration::from_secs(3599))
        );
    }
}
