//! The pure decisions of the token kinds: token names, lifetimes and rotation timing, and
//! what to do with the token the Secret holds.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

use super::TokenKind;
use crate::{
    controller::{error::RotationError, requeue, secret::KeyRecord},
    crd::TokenRotation,
};

/// The shortest lifetime a token may have.
pub const MIN_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime the operator asks for (grafana.com's own limit may be lower).
pub const MAX_LIFETIME: Duration = Duration::from_secs(10 * 366 * 24 * 3600);
/// How long a token lives at least before it is replaced, whatever the spec says.
pub const MIN_TOKEN_AGE: Duration = Duration::from_secs(30);

/// The base of the token names: `spec.name`, or `<namespace>-<metadata.name>`.
pub fn base_name<K: TokenKind>(obj: &K) -> String {
    obj.base().map_or_else(
        || format!("{}-{}", obj.namespace().unwrap_or_default(), obj.name_any()),
        str::to_string,
    )
}

/// The name of the resource's first token. It is claimed by the resource itself: no status
/// write comes before its create, and a resource without a serial in status may have made it
/// in a pass that ended before any status write.
pub fn first_name<K: TokenKind>(obj: &K) -> String {
    token_name(&base_name(obj), &obj.uid().unwrap_or_default(), 1)
}

/// The name of the token with `serial`: `<base>-<uid8>-<serial>`. The uid marks it as this
/// resource's, the serial makes each replacement's name new (names are unique per org).
pub fn token_name(base: &str, uid: &str, serial: u64) -> String {
    let uid8: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{base}-{uid8}-{serial}")
}

/// The checked timing of a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// How long each token lives; `None`: it never expires.
    pub lifetime: Option<Duration>,
    /// How long before expiry the replacement is made.
    pub renew_before: Option<Duration>,
    /// How long the replaced token keeps working after the switch.
    pub keep_previous: Duration,
}

/// A duration such as `720h` from a spec.
pub fn duration(text: &str) -> Result<Duration, RotationError> {
    requeue::parse(text).ok_or_else(|| RotationError::NotADuration(text.to_string()))
}

/// A token's lifetime and `rotation`, checked: the lifetime between [`MIN_LIFETIME`] and
/// [`MAX_LIFETIME`], the renewal at least [`MIN_TOKEN_AGE`] shorter than it, and the overlap
/// no longer than the renewal.
pub fn timing(
    lifetime: Option<Duration>,
    rotation: Option<&TokenRotation>,
) -> Result<Timing, RotationError> {
    if let Some(lifetime) = lifetime
        && !(MIN_LIFETIME..=MAX_LIFETIME).contains(&lifetime)
    {
        return Err(RotationError::LifetimeOutOfRange {
            min_secs: MIN_LIFETIME.as_secs(),
            max_secs: MAX_LIFETIME.as_secs(),
        });
    }
    let Some(rotation) = rotation else {
        return Ok(Timing {
            lifetime,
            ..Timing::default()
        });
    };
    let lifetime_value = lifetime.ok_or(RotationError::NoLifetime)?;
    let renew_before = duration(&rotation.renew_before)?;
    if renew_before.saturating_add(MIN_TOKEN_AGE) > lifetime_value {
        return Err(RotationError::TooLong {
            renew_before: rotation.renew_before.clone(),
            min_age_secs: MIN_TOKEN_AGE.as_secs(),
            ttl_secs: lifetime_value.as_secs(),
        });
    }
    let keep_previous = rotation
        .keep_previous
        .as_deref()
        .map(duration)
        .transpose()?
        .unwrap_or_default();
    if keep_previous > renew_before {
        return Err(RotationError::OverlapTooLong {
            keep_previous: rotation.keep_previous.clone().unwrap_or_default(),
            renew_before: rotation.renew_before.clone(),
        });
    }
    Ok(Timing {
        lifetime,
        renew_before: Some(renew_before),
        keep_previous,
    })
}

/// `now + d`, or `None` past the end of time.
pub fn after(now: Timestamp, d: Duration) -> Option<Timestamp> {
    SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
}

/// When the token of `record` is replaced: `renewBefore` before it expires, but never
/// sooner than [`MIN_TOKEN_AGE`] after it was made.
pub fn renew_at(record: &KeyRecord, timing: &Timing) -> Option<Timestamp> {
    let expires = record.expires_at?;
    let before = SignedDuration::try_from(timing.renew_before?).ok()?;
    let at = expires.checked_sub(before).ok()?;
    let earliest = after(record.created_at, MIN_TOKEN_AGE)?;
    Some(at.max(earliest))
}

/// What a pass does with the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPlan {
    /// The Secret holds a live token: keep it.
    Keep,
    /// The Secret's token is due for renewal: make the next one, switch, keep the old one
    /// for the overlap.
    Rotate,
    /// The Secret's token is gone at grafana.com (expired or deleted): make a new one.
    Replace,
    /// The Secret holds no token: make one.
    Create,
}

/// Decides, from what the Secret holds and whether grafana.com still has that token.
pub fn plan(
    stored: Option<&KeyRecord>,
    has_token: bool,
    alive: bool,
    renew_at: Option<Timestamp>,
    now: Timestamp,
) -> TokenPlan {
    match (stored, has_token) {
        (Some(_), true) if !alive => TokenPlan::Replace,
        (Some(_), true) if renew_at.is_some_and(|at| at <= now) => TokenPlan::Rotate,
        (Some(_), true) => TokenPlan::Keep,
        _ => TokenPlan::Create,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(created: &str, expires: Option<&str>) -> KeyRecord {
        KeyRecord {
            name: "n".into(),
            id: "t-1".into(),
            created_at: created.parse().unwrap(),
            expires_at: expires.map(|e| e.parse().unwrap()),
            stack_id: None,
        }
    }

    fn rotation(renew_before: &str, keep_previous: Option<&str>) -> TokenRotation {
        TokenRotation {
            renew_before: renew_before.into(),
            keep_previous: keep_previous.map(str::to_string),
        }
    }

    const fn secs(n: u64) -> Option<Duration> {
        Some(Duration::from_secs(n))
    }

    #[test]
    fn names_carry_the_uid_and_a_serial() {
        assert_eq!(
            token_name("team-a-push", "0f3a9c2e-77aa-4b1e-9d21-5e6f7a8b9c0d", 3),
            "team-a-push-0f3a9c2e-3"
        );
    }

    #[test]
    fn timing_is_checked_and_renewal_never_comes_before_the_minimum_age() {
        let timing = timing(secs(3600), Some(&rotation("10m", Some("5m")))).unwrap();
        assert_eq!(timing.lifetime, secs(3600));
        assert_eq!(timing.keep_previous, Duration::from_secs(300));
        let rec = record("2026-01-01T00:00:00Z", Some("2026-01-01T01:00:00Z"));
        assert_eq!(
            renew_at(&rec, &timing).unwrap().to_string(),
            "2026-01-01T00:50:00Z"
        );

        for (lifetime, rotation, why) in [
            (secs(10), None, "shorter than a minute"),
            (
                None,
                Some(rotation("1m", None)),
                "rotation without a lifetime",
            ),
            (secs(60), Some(rotation("45s", None)), "renewal too close"),
            (
                secs(3600),
                Some(rotation("1m", Some("2m"))),
                "overlap past renewal",
            ),
            (secs(u64::MAX / 4), None, "past the longest lifetime"),
        ] {
            assert!(super::timing(lifetime, rotation.as_ref()).is_err(), "{why}");
        }
    }

    #[test]
    fn the_plan_keeps_rotates_replaces_or_creates() {
        let now: Timestamp = "2026-01-01T00:55:00Z".parse().unwrap();
        let rec = record("2026-01-01T00:00:00Z", Some("2026-01-01T01:00:00Z"));
        let due = Some("2026-01-01T00:50:00Z".parse().unwrap());
        let later = Some("2026-01-01T00:59:00Z".parse().unwrap());
        assert_eq!(plan(Some(&rec), true, true, later, now), TokenPlan::Keep);
        assert_eq!(plan(Some(&rec), true, true, due, now), TokenPlan::Rotate);
        assert_eq!(
            plan(Some(&rec), true, false, later, now),
            TokenPlan::Replace
        );
        assert_eq!(plan(None, false, false, None, now), TokenPlan::Create);
        assert_eq!(plan(Some(&rec), false, true, None, now), TokenPlan::Create);
    }
}
