//! Time rules shared by every kind that claims a name before a create call, or trusts an
//! organisation's shared list: how long a claim stays open, how much clock skew is allowed,
//! and how new an object may be for a list not to show it yet.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::secret::KeyRecord;

/// How long after its claim a create call can commit: the request budget's wait, retries
/// and timeouts included.
pub const CLAIM_WINDOW: SignedDuration = SignedDuration::from_mins(10);
/// How far grafana.com's clock may run behind the operator's.
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Whether `record`'s key was created so recently that a snapshot list up to `max_age` old
/// may not show it yet. The record's time is cut to whole seconds (see [`whole_seconds`]),
/// so a key made in the second before the oldest snapshot may still be missing from it.
pub fn newer_than_snapshot(record: &KeyRecord, now: Timestamp, max_age: Duration) -> bool {
    SignedDuration::try_from(max_age)
        .ok()
        .and_then(|age| now.checked_sub(age + SignedDuration::from_secs(1)).ok())
        .is_some_and(|oldest| record.created_at > oldest)
}

/// `now`, truncated to whole seconds, as recorded in annotations and status.
pub fn whole_seconds(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}
