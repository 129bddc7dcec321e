//! Pure decisions of the GrafanaCloudApiKey controller: names, which key to keep or create,
//! when to renew, and what to put in status. No I/O here, so each rule has a unit test.

use std::time::Duration;

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::ResourceExt;

pub use crate::controller::{
    claims::{CLAIM_WINDOW, CLOCK_SKEW, newer_than_snapshot, whole_seconds},
    refs::stack_facts,
};
use crate::{
    controller::{error::RotationError, requeue, secret::KeyRecord},
    crd::{self, GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
    grafana::{self, OrgApiKey},
};

/// Whether a resource manages an organisation key or a stack key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Org,
    Stack,
}

impl KeyKind {
    pub fn of(obj: &GrafanaCloudApiKey) -> Self {
        if obj.spec.stack_ref.is_some() {
            Self::Stack
        } else {
            Self::Org
        }
    }

    /// The value of `status.keyType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Stack => "stack",
        }
    }
}

/// The key's name at grafana.com: `spec.name`, or `<namespace>-<metadata.name>`. Stack keys
/// add a unique suffix to it (see [`stack_key_name`]).
pub fn base_name(obj: &GrafanaCloudApiKey) -> String {
    obj.spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", obj.namespace().unwrap_or_default(), obj.name_any()))
}

/// The Secret that receives the token: `spec.secretName`, or `metadata.name`.
pub fn secret_name(obj: &GrafanaCloudApiKey) -> String {
    obj.spec
        .secret_name
        .clone()
        .unwrap_or_else(|| obj.name_any())
}

/// The name of one stack key: the base name plus 8 hex digits.
///
/// The grafana.com API cannot list or revoke stack keys, so each key gets a name that was
/// never used before. A key whose token was lost (a crash between the create call and the
/// Secret write) therefore stays valid until its `secondsToLive` runs out, and forever for
/// a key without a lifetime: set `secondsToLive` to bound that exposure.
pub fn stack_key_name(base: &str, suffix: u32) -> String {
    format!("{base}-{suffix:08x}")
}

/// The role as the grafana.com client spells it.
pub fn grafana_role(role: crd::ApiKeyRole) -> grafana::ApiKeyRole {
    match role {
        crd::ApiKeyRole::Viewer => grafana::ApiKeyRole::Viewer,
        crd::ApiKeyRole::Editor => grafana::ApiKeyRole::Editor,
        crd::ApiKeyRole::Admin => grafana::ApiKeyRole::Admin,
        crd::ApiKeyRole::MetricsPublisher => grafana::ApiKeyRole::MetricsPublisher,
    }
}

/// Which GrafanaStack the templates see: the key's own stack, or for an org key
/// `secretTemplate.stackRef`.
pub fn template_stack(obj: &GrafanaCloudApiKey) -> Option<&str> {
    obj.spec.stack_ref.as_deref().or_else(|| {
        obj.spec
            .secret_template
            .as_ref()
            .and_then(|t| t.stack_ref.as_deref())
    })
}

/// Whether `key` must be reconciled when the GrafanaStack `namespace/name` changes.
pub fn references_stack(key: &GrafanaCloudApiKey, namespace: &str, name: &str) -> bool {
    key.namespace().as_deref() == Some(namespace) && template_stack(key) == Some(name)
}

/// The checked rotation settings of a stack key: `renewBefore` as a duration, shorter than
/// the key's lifetime.
///
/// The error is the reason to show with `InvalidSpec`.
pub fn renew_before(obj: &GrafanaCloudApiKey) -> Result<Option<Duration>, RotationError> {
    let Some(rotation) = &obj.spec.rotation else {
        return Ok(None);
    };
    let before = requeue::parse(&rotation.renew_before)
        .ok_or_else(|| RotationError::NotADuration(rotation.renew_before.clone()))?;
    let ttl = obj
        .spec
        .seconds_to_live
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .ok_or(RotationError::NoLifetime)?;
    if before.saturating_add(MIN_KEY_AGE) > Duration::from_secs(ttl) {
        return Err(RotationError::TooLong {
            renew_before: rotation.renew_before.clone(),
            min_age_secs: MIN_KEY_AGE.as_secs(),
            ttl_secs: ttl,
        });
    }
    Ok(Some(before))
}

/// The youngest a stack key may be when it is replaced. Stack keys cannot be revoked, so
/// however the spec or the Secret behaves, one resource creates at most one key this often.
pub const MIN_KEY_AGE: Duration = Duration::from_secs(30);

/// When the next stack key may be created at the earliest, given when the last one was
/// (`status.createdAt`); `None` when that is now or past.
pub fn replacement_not_before(
    last_created: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let earliest = last_created?
        .checked_add(SignedDuration::try_from(MIN_KEY_AGE).ok()?)
        .ok()?;
    (earliest > now).then_some(earliest)
}

/// When a key created at `created_at` with `seconds_to_live` expires.
pub fn expires_at(created_at: Timestamp, seconds_to_live: Option<i64>) -> Option<Timestamp> {
    let ttl = seconds_to_live.filter(|s| *s > 0)?;
    created_at.checked_add(SignedDuration::from_secs(ttl)).ok()
}

/// When the replacement of a key is due: `renewBefore` ahead of its expiry, or at the expiry
/// itself when no rotation is configured. Keys without a lifetime are never renewed.
pub fn renew_at(record: &KeyRecord, renew_before: Option<Duration>) -> Option<Timestamp> {
    let expires_at = record.expires_at?;
    let before = SignedDuration::try_from(renew_before.unwrap_or_default()).ok()?;
    expires_at.checked_sub(before).ok()
}

/// Why a new stack key is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackKeyNeed {
    /// The Secret has no key yet: the first key.
    First,
    /// The Secret lost its token (or was deleted): its key cannot be revoked and simply
    /// expires.
    TokenLost,
    /// The stack was replaced (a new id), so the old key no longer works.
    StackReplaced,
    /// The renewal time has come.
    Renew,
}

/// Whether the stack key in the Secret (if any) must be replaced now.
pub fn stack_key_need(
    stored: Option<&KeyRecord>,
    has_token: bool,
    stack_id: Option<u64>,
    renew_before: Option<Duration>,
    now: Timestamp,
) -> Option<StackKeyNeed> {
    let Some(record) = stored else {
        return Some(if has_token {
            StackKeyNeed::TokenLost
        } else {
            StackKeyNeed::First
        });
    };
    if !has_token {
        return Some(StackKeyNeed::TokenLost);
    }
    if stack_id.is_some() && record.stack_id != stack_id {
        return Some(StackKeyNeed::StackReplaced);
    }
    if renew_at(record, renew_before).is_some_and(|at| now >= at) {
        return Some(StackKeyNeed::Renew);
    }
    None
}

/// What to do about an organisation key, given the remote key of that name (if any) and
/// what the Secret and status record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgPlan {
    /// The Secret holds the token of the live key: nothing to create.
    Keep,
    /// No key exists and the Secret has no token: create the first key.
    Create,
    /// The token in the Secret is lost or stale: delete the remote key if it still exists,
    /// then create a new one.
    Recreate { delete_first: bool },
    /// A key of that name exists that this resource never created: leave it alone.
    Conflict,
}

/// The claim a resource records on an org key name before each create call (see
/// [`claim`](super::claim)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyClaim {
    pub name: String,
    /// When it was recorded; `None` for a claim that did not say.
    pub at: Option<Timestamp>,
}

/// Whether the Secret's record is exactly this remote key: ownership beyond doubt, since the
/// record is written only after the key exists.
pub fn records(stored: Option<&KeyRecord>, remote: &OrgApiKey) -> bool {
    stored.is_some_and(|s| s.name == remote.name && s.id == remote.id)
}

/// Whether the remote key of this resource's name is this resource's own: the key whose
/// identity the Secret records, or a key created while a claim was open, that is, after the
/// claim and before any create that followed it was recorded on the Secret (a crash between
/// the create call and the Secret write). Any other same-named key is somebody else's.
pub fn owns_remote(
    remote: &OrgApiKey,
    stored: Option<&KeyRecord>,
    claim: Option<&KeyClaim>,
) -> bool {
    if records(stored, remote) {
        return true;
    }
    let Some(claim) = claim.filter(|c| c.name == remote.name) else {
        return false;
    };
    let Some(at) = claim.at else {
        // A claim recorded before claim times were: the name alone, as then.
        return true;
    };
    if stored.is_some_and(|s| s.name == claim.name && s.created_at >= at) {
        // The create after this claim completed and its key is on the Secret.
        return false;
    }
    let created = remote
        .created_at
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok());
    match created {
        Some(created) => {
            let earliest = at.checked_sub(CLOCK_SKEW).unwrap_or(at);
            let latest = at.checked_add(CLAIM_WINDOW).unwrap_or(at);
            created >= earliest && created <= latest
        }
        // grafana.com did not say when the key was made: the open claim decides.
        None => true,
    }
}

/// Decides about an org key. `claimed` says the remote key is this resource's own (see
/// [`owns_remote`]), which makes it ours to replace.
pub fn org_plan(
    remote: Option<&OrgApiKey>,
    stored: Option<&KeyRecord>,
    has_token: bool,
    claimed: bool,
) -> OrgPlan {
    match remote {
        Some(remote) => {
            let same_key = stored.is_none_or(|s| s.name == remote.name && s.id == remote.id);
            if has_token && same_key && claimed {
                OrgPlan::Keep
            } else if claimed {
                OrgPlan::Recreate { delete_first: true }
            } else {
                OrgPlan::Conflict
            }
        }
        None if has_token => OrgPlan::Recreate {
            delete_first: false,
        },
        None => OrgPlan::Create,
    }
}

/// Whether a plan made from the organisation's snapshot list must be made again from a
/// fresh list. Keeping a key and creating a missing one are safe on stale data (a create
/// whose name is taken fails with 409 and is looked at again); replacing a key or reporting
/// a conflict are not.
pub fn needs_fresh_list(plan: OrgPlan) -> bool {
    matches!(plan, OrgPlan::Recreate { .. } | OrgPlan::Conflict)
}

/// Fills the key fields of status from the key whose token the Secret holds.
pub fn record_status(
    status: &mut GrafanaCloudApiKeyStatus,
    record: &KeyRecord,
    renew_at: Option<Timestamp>,
) {
    status.key_id = record.id.parse().ok();
    status.key_name = Some(record.name.clone());
    status.created_at = Some(record.created_at.to_string());
    status.expires_at = record.expires_at.map(|t| t.to_string());
    status.renew_at = renew_at.map(|t| t.to_string());
}

/// How long to sleep before the next reconcile: the resync interval, or less when the key
/// must be renewed sooner. The wake-up lands exactly on `wake_at`, independent of resync.
pub fn requeue_after(now: Timestamp, wake_at: Option<Timestamp>, resync: Duration) -> Duration {
    match wake_at {
        Some(at) => {
            let until = Duration::try_from(now.duration_until(at)).unwrap_or_default();
            until.min(resync).max(Duration::from_millis(100))
        }
        None => resync,
    }
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
