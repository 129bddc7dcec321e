#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::*;
use crate::crd::{ApiKeyRole, DeletionPolicy, GrafanaCloudApiKeySpec, Rotation, SecretTemplate};

fn spec() -> GrafanaCloudApiKeySpec {
    GrafanaCloudApiKeySpec {
        name: None,
        role: ApiKeyRole::Viewer,
        stack_ref: None,
        seconds_to_live: None,
        rotation: None,
        secret_name: None,
        secret_template: None,
        deletion_policy: DeletionPolicy::Delete,
        credentials: None,
    }
}

fn key(spec: GrafanaCloudApiKeySpec) -> GrafanaCloudApiKey {
    let mut key = GrafanaCloudApiKey::new("metrics", spec);
    key.metadata.namespace = Some("team-a".into());
    key
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

fn record(expires_at: Option<i64>, stack_id: Option<u64>) -> KeyRecord {
    KeyRecord {
        name: "team-a-metrics-0000002a".into(),
        id: "7".into(),
        created_at: at(1_000),
        expires_at: expires_at.map(at),
        stack_id,
    }
}

fn remote(name: &str, id: &str) -> OrgApiKey {
    serde_json::from_value(json!({"id": id, "name": name, "role": "Viewer"})).unwrap()
}

#[test]
fn names_default_to_namespace_and_resource_name() {
    let obj = key(spec());
    assert_eq!(base_name(&obj), "team-a-metrics");
    assert_eq!(secret_name(&obj), "metrics");
    let obj = key(GrafanaCloudApiKeySpec {
        name: Some("ci".into()),
        secret_name: Some("ci-token".into()),
        ..spec()
    });
    assert_eq!(base_name(&obj), "ci");
    assert_eq!(secret_name(&obj), "ci-token");
}

#[test]
fn stack_key_names_get_an_eight_digit_hex_suffix() {
    assert_eq!(
        stack_key_name("team-a-metrics", 42),
        "team-a-metrics-0000002a"
    );
    assert_eq!(stack_key_name("k", u32::MAX), "k-ffffffff");
}

#[test]
fn kind_and_template_stack_follow_the_references() {
    let org = key(spec());
    assert_eq!(KeyKind::of(&org), KeyKind::Org);
    assert_eq!(KeyKind::of(&org).as_str(), "org");
    assert_eq!(template_stack(&org), None);

    let templated = key(GrafanaCloudApiKeySpec {
        secret_template: Some(SecretTemplate {
            stack_ref: Some("shared".into()),
            ..SecretTemplate::default()
        }),
        ..spec()
    });
    assert_eq!(KeyKind::of(&templated), KeyKind::Org);
    assert_eq!(template_stack(&templated), Some("shared"));
    assert!(references_stack(&templated, "team-a", "shared"));
    assert!(!references_stack(&templated, "team-b", "shared"));

    let stack = key(GrafanaCloudApiKeySpec {
        stack_ref: Some("main".into()),
        ..spec()
    });
    assert_eq!(KeyKind::of(&stack).as_str(), "stack");
    assert!(references_stack(&stack, "team-a", "main"));
    assert!(!references_stack(&stack, "team-a", "other"));
}

#[test]
fn renew_before_must_be_shorter_than_the_lifetime() {
    let with = |ttl: Option<i64>, before: &str| {
        key(GrafanaCloudApiKeySpec {
            stack_ref: Some("main".into()),
            seconds_to_live: ttl,
            rotation: Some(Rotation {
                renew_before: before.into(),
            }),
            ..spec()
        })
    };
    assert_eq!(
        renew_before(&with(Some(7200), "1h30m")).unwrap(),
        Some(Duration::from_secs(5400))
    );
    assert_eq!(
        renew_before(&with(Some(60), "500ms")).unwrap(),
        Some(Duration::from_millis(500))
    );
    assert!(
        renew_before(&with(Some(3600), "1h"))
            .unwrap_err()
            .to_string()
            .contains("shorter than secondsToLive")
    );
    assert!(renew_before(&with(None, "1m")).is_err());
    assert!(renew_before(&with(Some(3600), "soon")).is_err());
    assert_eq!(renew_before(&key(spec())).unwrap(), None);
    // A renewal that leaves a key less than 30 s would replace it over and over.
    assert!(
        renew_before(&with(Some(60), "31s"))
            .unwrap_err()
            .to_string()
            .contains("at least 30s shorter")
    );
    assert!(renew_before(&with(Some(60), "30s")).is_ok());
    assert!(renew_before(&with(Some(3600), "99999999999999999999h")).is_err());
}

#[test]
fn one_resource_creates_at_most_one_stack_key_per_thirty_seconds() {
    let last = at(1_000);
    assert_eq!(
        replacement_not_before(Some(last), at(1_010)),
        Some(at(1_030))
    );
    assert_eq!(replacement_not_before(Some(last), at(1_030)), None);
    assert_eq!(replacement_not_before(None, at(1_010)), None);
}

#[test]
fn expiry_and_renewal_times() {
    assert_eq!(expires_at(at(1_000), Some(3_600)), Some(at(4_600)));
    assert_eq!(expires_at(at(1_000), None), None);
    assert_eq!(expires_at(at(1_000), Some(0)), None);
    let rec = record(Some(4_600), Some(1));
    assert_eq!(
        renew_at(&rec, Some(Duration::from_secs(600))),
        Some(at(4_000))
    );
    assert_eq!(renew_at(&rec, None), Some(at(4_600)));
    assert_eq!(
        renew_at(&record(None, None), Some(Duration::from_secs(1))),
        None
    );
}

#[test]
fn stack_key_is_created_first_then_kept_then_renewed() {
    let before = Some(Duration::from_secs(600));
    let rec = record(Some(4_600), Some(9));
    assert_eq!(
        stack_key_need(None, false, Some(9), before, at(1_000)),
        Some(StackKeyNeed::First)
    );
    assert_eq!(
        stack_key_need(Some(&rec), true, Some(9), before, at(3_999)),
        None
    );
    assert_eq!(
        stack_key_need(Some(&rec), true, Some(9), before, at(4_000)),
        Some(StackKeyNeed::Renew)
    );
    assert_eq!(
        stack_key_need(Some(&rec), false, Some(9), before, at(2_000)),
        Some(StackKeyNeed::TokenLost)
    );
    assert_eq!(
        stack_key_need(None, true, Some(9), before, at(2_000)),
        Some(StackKeyNeed::TokenLost)
    );
    assert_eq!(
        stack_key_need(Some(&rec), true, Some(10), before, at(2_000)),
        Some(StackKeyNeed::StackReplaced)
    );
    let forever = record(None, Some(9));
    assert_eq!(
        stack_key_need(Some(&forever), true, Some(9), before, at(1 << 34)),
        None
    );
}

#[test]
fn org_key_is_kept_while_the_secret_holds_the_live_keys_token() {
    let rec = KeyRecord {
        name: "team-a-metrics".into(),
        id: "7".into(),
        ..record(None, None)
    };
    let live = remote("team-a-metrics", "7");
    assert_eq!(org_plan(Some(&live), Some(&rec), true, true), OrgPlan::Keep);
    // A second reconcile with the same facts decides the same: no create.
    assert_eq!(org_plan(Some(&live), Some(&rec), true, true), OrgPlan::Keep);
}

#[test]
fn org_key_is_replaced_when_the_token_is_lost_or_stale() {
    let rec = KeyRecord {
        name: "team-a-metrics".into(),
        id: "7".into(),
        ..record(None, None)
    };
    let live = remote("team-a-metrics", "7");
    // Secret deleted, or a crash between the create call and the Secret write.
    assert_eq!(
        org_plan(Some(&live), None, false, true),
        OrgPlan::Recreate { delete_first: true }
    );
    // Someone replaced the remote key: the stored token belongs to a key that is gone.
    let replaced = remote("team-a-metrics", "8");
    assert_eq!(
        org_plan(Some(&replaced), Some(&rec), true, true),
        OrgPlan::Recreate { delete_first: true }
    );
    // The remote key vanished but the Secret still has its token.
    assert_eq!(
        org_plan(None, Some(&rec), true, true),
        OrgPlan::Recreate {
            delete_first: false
        }
    );
    assert_eq!(org_plan(None, None, false, false), OrgPlan::Create);
}

#[test]
fn a_same_named_org_key_this_resource_never_claimed_is_a_conflict() {
    let foreign = remote("team-a-metrics", "3");
    assert_eq!(
        org_plan(Some(&foreign), None, false, false),
        OrgPlan::Conflict
    );
    assert_eq!(
        org_plan(Some(&foreign), None, true, false),
        OrgPlan::Conflict
    );
}

#[test]
fn only_plans_that_replace_or_refuse_need_a_fresh_list() {
    assert!(!needs_fresh_list(OrgPlan::Keep));
    assert!(!needs_fresh_list(OrgPlan::Create));
    assert!(needs_fresh_list(OrgPlan::Conflict));
    assert!(needs_fresh_list(OrgPlan::Recreate { delete_first: true }));
    assert!(needs_fresh_list(OrgPlan::Recreate {
        delete_first: false
    }));
}

#[test]
fn a_key_younger_than_the_snapshot_age_may_be_missing_from_it() {
    let rec = record(None, None); // created in second 1 000
    let age = Duration::from_secs(300);
    assert!(newer_than_snapshot(&rec, at(1_000), age));
    assert!(newer_than_snapshot(&rec, at(1_300), age));
    // Made as late as 1 000.999 s: a snapshot fetched at 1 000.5 s and 300 s old at
    // 1 300.9 s may not show it.
    assert!(newer_than_snapshot(
        &rec,
        at(1_300) + SignedDuration::from_millis(900),
        age
    ));
    assert!(!newer_than_snapshot(&rec, at(1_301), age));
}

#[test]
fn status_records_the_key_and_its_schedule() {
    let mut status = GrafanaCloudApiKeyStatus::default();
    let rec = record(Some(4_600), Some(9));
    record_status(&mut status, &rec, Some(at(4_000)));
    assert_eq!(status.key_id, Some(7));
    assert_eq!(status.key_name.as_deref(), Some("team-a-metrics-0000002a"));
    assert_eq!(status.created_at.as_deref(), Some("1970-01-01T00:16:40Z"));
    assert_eq!(status.expires_at.as_deref(), Some("1970-01-01T01:16:40Z"));
    assert_eq!(status.renew_at.as_deref(), Some("1970-01-01T01:06:40Z"));
}

#[test]
fn requeue_wakes_exactly_at_the_renewal_time_when_it_comes_before_resync() {
    let resync = Duration::from_secs(300);
    assert_eq!(
        requeue_after(at(1_000), Some(at(1_090)), resync),
        Duration::from_secs(90)
    );
    assert_eq!(requeue_after(at(1_000), Some(at(9_000)), resync), resync);
    assert_eq!(requeue_after(at(1_000), None, resync), resync);
    assert_eq!(
        requeue_after(at(1_000), Some(at(10)), resync),
        Duration::from_millis(100)
    );
}

#[test]
fn whole_seconds_drops_the_fraction() {
    let t: Timestamp = "2026-11-27T08:00:00.75Z".parse().unwrap();
    assert_eq!(whole_seconds(t).to_string(), "2026-11-27T08:00:00Z");
}

fn made_at(name: &str, id: &str, secs: i64) -> OrgApiKey {
    let created = at(secs).to_string();
    serde_json::from_value(json!({"id": id, "name": name, "role": "Viewer", "createdAt": created}))
        .unwrap()
}

fn claim(secs: Option<i64>) -> KeyClaim {
    KeyClaim {
        name: "team-a-metrics".into(),
        at: secs.map(at),
    }
}

fn stored(id: &str, created: i64) -> KeyRecord {
    KeyRecord {
        name: "team-a-metrics".into(),
        id: id.into(),
        created_at: at(created),
        expires_at: None,
        stack_id: None,
    }
}

#[test]
fn the_key_the_secret_records_is_ours_whatever_the_claim() {
    let live = made_at("team-a-metrics", "7", 1_000);
    assert!(owns_remote(&live, Some(&stored("7", 1_000)), None));
}

#[test]
fn a_key_made_while_the_claim_was_open_is_ours_after_a_crash() {
    // Claimed at 5000, created at 5002, crash before the Secret write: the Secret still
    // records the previous key (created at 1000), or nothing at all.
    let left_behind = made_at("team-a-metrics", "9", 5_002);
    assert!(owns_remote(
        &left_behind,
        Some(&stored("7", 1_000)),
        Some(&claim(Some(5_000)))
    ));
    assert!(owns_remote(&left_behind, None, Some(&claim(Some(5_000)))));
    // grafana.com's clock may run a little behind.
    let early = made_at("team-a-metrics", "9", 4_900);
    assert!(owns_remote(&early, None, Some(&claim(Some(5_000)))));
}

#[test]
fn a_same_named_key_made_by_hand_after_ours_was_deleted_is_not_ours() {
    // Ours (id 7) was created right after the claim at 1000 and is on the Secret; somebody
    // deleted it and made their own key of that name at 90000.
    let by_hand = made_at("team-a-metrics", "8", 90_000);
    let claim_1000 = claim(Some(1_000));
    assert!(!owns_remote(
        &by_hand,
        Some(&stored("7", 1_000)),
        Some(&claim_1000)
    ));
    // Even soon after, once our create is recorded on the Secret, the claim is spent.
    let soon = made_at("team-a-metrics", "8", 1_060);
    assert!(!owns_remote(
        &soon,
        Some(&stored("7", 1_001)),
        Some(&claim_1000)
    ));
    // With the Secret gone too, the time alone tells: long after the claim is not ours.
    assert!(!owns_remote(&by_hand, None, Some(&claim_1000)));
    assert_eq!(
        org_plan(Some(&by_hand), Some(&stored("7", 1_000)), true, false),
        OrgPlan::Conflict
    );
}

#[test]
fn claims_from_before_claim_times_and_keys_without_times_fall_back_to_the_name() {
    let by_hand = made_at("team-a-metrics", "8", 90_000);
    assert!(owns_remote(&by_hand, None, Some(&claim(None))));
    let timeless = remote("team-a-metrics", "8");
    assert!(owns_remote(&timeless, None, Some(&claim(Some(1_000)))));
    let other_name = made_at("team-a-other", "8", 1_000);
    assert!(!owns_remote(&other_name, None, Some(&claim(Some(1_000)))));
}
