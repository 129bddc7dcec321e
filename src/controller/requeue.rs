//! When a resource is looked at again. Every requeue the controllers ask for goes through
//! [`after`], which caps it, so that no value from a user or from grafana.com can schedule a
//! wake-up that overflows a clock or never comes.

use std::time::Duration;

use kube::runtime::controller::Action;

/// The longest any resource waits before it is reconciled again.
pub const MAX_REQUEUE: Duration = Duration::from_secs(24 * 60 * 60);
/// The longest wait that grafana.com can ask for (`Retry-After`, "wait for Ns").
pub use crate::grafana::retry::MAX_SERVER_WAIT;
/// Slow retry for errors a user usually has to fix elsewhere (a token, a slug owner).
pub const SLOW_RETRY: Duration = Duration::from_secs(300);
/// How often a delete that grafana.com refuses is tried again.
pub const BLOCKED_RETRY: Duration = Duration::from_secs(60);
/// Added to grafana.com's "wait for Ns" so that the retry lands after the reservation ends.
pub const SLUG_WAIT_MARGIN: Duration = Duration::from_secs(2);
/// The shortest resync interval; shorter settings (a zero, say) are raised to it.
pub const MIN_RESYNC: Duration = Duration::from_secs(1);
pub(crate) const BACKOFF_BASE: Duration = Duration::from_secs(1);
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Reconcile again after `delay`, capped at [`MAX_REQUEUE`].
pub fn after(delay: Duration) -> Action {
    Action::requeue(delay.min(MAX_REQUEUE))
}

/// A wait that grafana.com asked for: at most [`MAX_SERVER_WAIT`], then spread up to 10%
/// later, so that resources paused by one answer do not all wake at once.
pub fn server_wait(wait: Duration) -> Duration {
    let capped = wait.min(MAX_SERVER_WAIT);
    capped.saturating_add(scaled(capped, 0.1 * unit_random()))
}

/// A resync interval as used: between [`MIN_RESYNC`] and [`MAX_REQUEUE`].
pub fn resync(interval: Duration) -> Duration {
    interval.clamp(MIN_RESYNC, MAX_REQUEUE)
}

/// Parses a user's duration such as `5m`, without ever panicking; `None` when it is not a
/// duration or does not fit.
pub fn parse(text: &str) -> Option<Duration> {
    humantime::parse_duration(text).ok()
}

/// How long from `now` until `at`: at least a second, so that a time just past wakes the
/// resource once rather than in a loop.
pub fn until(now: k8s_openapi::jiff::Timestamp, at: k8s_openapi::jiff::Timestamp) -> Duration {
    let left = at.as_millisecond().saturating_sub(now.as_millisecond());
    Duration::from_millis(u64::try_from(left).unwrap_or(0)).max(Duration::from_secs(1))
}

/// Exponential backoff with full jitter in the upper half: 1 s, 2 s, 4 s … capped at 5 min.
pub fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_BASE
        .saturating_mul(1u32 << failures.min(16))
        .min(BACKOFF_MAX);
    jittered(exp, 0.5)
}

/// `base` scaled by a random factor in `[1 - spread, 1]`; `spread` is clamped to `[0, 1]`.
pub fn jittered(base: Duration, spread: f64) -> Duration {
    let spread = if spread.is_finite() {
        spread.clamp(0.0, 1.0)
    } else {
        0.0
    };
    scaled(base, 1.0 - spread * unit_random())
}

/// `base * factor` for a factor in `[0, 1]`; `base` itself where the product does not fit.
fn scaled(base: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(base.as_secs_f64() * factor.clamp(0.0, 1.0))
        .map_or(base, |d| d.min(base))
}

/// A random number in `[0, 1)`.
fn unit_random() -> f64 {
    rand::random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requeues_are_capped_at_a_day() {
        assert_eq!(after(Duration::MAX), Action::requeue(MAX_REQUEUE));
        assert_eq!(
            after(Duration::from_secs(5)),
            Action::requeue(Duration::from_secs(5))
        );
    }

    #[test]
    fn server_waits_are_capped_and_spread_later_never_earlier() {
        for _ in 0..100 {
            let wait = server_wait(Duration::MAX);
            assert!(wait >= MAX_SERVER_WAIT && wait <= MAX_SERVER_WAIT + MAX_SERVER_WAIT / 10);
            let wait = server_wait(Duration::from_secs(30));
            assert!(wait >= Duration::from_secs(30) && wait <= Duration::from_secs(33));
        }
    }

    #[test]
    fn resync_intervals_are_clamped() {
        assert_eq!(resync(Duration::ZERO), MIN_RESYNC);
        assert_eq!(resync(Duration::MAX), MAX_REQUEUE);
        assert_eq!(resync(Duration::from_secs(300)), Duration::from_secs(300));
    }

    #[test]
    fn durations_that_do_not_fit_do_not_parse() {
        assert_eq!(parse("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse("99999999999999999999999h"), None);
        assert_eq!(parse("soon"), None);
    }

    #[test]
    fn jitter_never_grows_a_delay_and_tolerates_odd_spreads() {
        for spread in [0.0, 0.5, 1.0, 7.0, -1.0, f64::NAN, f64::INFINITY] {
            let delay = jittered(Duration::MAX, spread);
            assert!(delay <= Duration::MAX, "{spread}");
            assert!(jittered(Duration::from_secs(10), spread) <= Duration::from_secs(10));
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for failures in 0..40 {
            let delay = backoff(failures);
            let ceiling = BACKOFF_BASE
                .saturating_mul(1u32 << failures.min(16))
                .min(BACKOFF_MAX);
            assert!(delay <= ceiling, "{failures}: {delay:?} > {ceiling:?}");
            assert!(
                delay >= ceiling / 2,
                "{failures}: {delay:?} < half of {ceiling:?}"
            );
        }
        assert!(backoff(u32::MAX) <= BACKOFF_MAX);
    }
}
