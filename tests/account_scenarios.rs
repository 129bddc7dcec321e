//! Stack service accounts and their tokens through the controllers' real `apply` and
//! `cleanup`, against the grafana.com simulator over real HTTP and an in-memory API server.
//! `tests/e2e_accounts.rs` runs the same lifecycle through the real binary and kube-apiserver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/memory_cluster.rs"]
mod memory_cluster;

use std::time::Duration;

use captured_logs::logs;
use grafana_cloud_operator::{
    controller::conditions::is_ready,
    crd::{
        GrafanaStackServiceAccount, GrafanaStackServiceAccountStatus,
        GrafanaStackServiceAccountToken, TokenStatus,
    },
};
use grafana_cloud_simulator::{Fault, ServiceAccountView};
use in_process::{CREDENTIALS, NS, World, reason, world};
use serde_json::json;

const SLUG: &str = "teamamain";
const ACCOUNTS: &str = "/api/instances/{slug}/api/serviceaccounts";
const TOKENS: &str = "/api/instances/{slug}/api/serviceaccounts/{id}/tokens";

async fn env() -> World {
    logs();
    world(Duration::from_secs(300), |sim| sim).await
}

fn account_spec() -> serde_json::Value {
    json!({"stackRef": "main", "role": "Editor", "credentials": {"secretName": CREDENTIALS}})
}

fn accounts(env: &World) -> Vec<ServiceAccountView> {
    env.sim.control().service_accounts(SLUG)
}

/// The stack, account `ci` Ready, and token `deploy` with `token_spec`, reconciled once.
async fn deploying(env: &World, token_spec: serde_json::Value) {
    env.ready_stack("main", SLUG).await;
    env.put::<GrafanaStackServiceAccount>("ci", account_spec());
    env.apply::<GrafanaStackServiceAccount>("ci").await.unwrap();
    let account: GrafanaStackServiceAccount = env.get("ci");
    let status = account.status.unwrap();
    assert!(
        is_ready(&status.conditions),
        "account Ready: {:?}",
        status.conditions
    );
    env.put::<GrafanaStackServiceAccountToken>("deploy", token_spec);
    env.apply::<GrafanaStackServiceAccountToken>("deploy")
        .await
        .unwrap();
}

fn token_status(env: &World) -> TokenStatus {
    env.get::<GrafanaStackServiceAccountToken>("deploy")
        .status
        .unwrap_or_default()
}

/// The keys of the account's tokens that still work.
fn live_keys(env: &World) -> Vec<String> {
    accounts(env)
        .iter()
        .flat_map(|a| a.tokens.iter())
        .filter(|t| !t.expired)
        .map(|t| t.key.expose().to_string())
        .collect()
}

fn writes(env: &World) -> (usize, usize, usize) {
    let grafana = env
        .sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .count();
    (
        grafana,
        env.cluster.writes("Secret"),
        env.cluster.writes("GrafanaStackServiceAccount")
            + env.cluster.writes("GrafanaStackServiceAccountToken"),
    )
}

#[tokio::test]
async fn an_account_token_reaches_its_secret_with_the_stack_url_and_steady_state_writes_nothing() {
    let env = env().await;
    deploying(
        &env,
        json!({"serviceAccountRef": "ci", "secondsToLive": 3600,
               "secretTemplate": {"data": {"GRAFANA_URL": "{{ stack.url }}"}}}),
    )
    .await;
    let found = accounts(&env);
    assert_eq!(found.len(), 1, "exactly one account: {found:?}");
    assert_eq!(
        (found[0].name.as_str(), found[0].role.as_str()),
        ("team-a-ci", "Editor")
    );
    let account: GrafanaStackServiceAccount = env.get("ci");
    assert_eq!(account.status.unwrap().id, Some(found[0].id));

    let status = token_status(&env);
    assert!(
        is_ready(&status.conditions),
        "token Ready: {:?}",
        status.conditions
    );
    let live = live_keys(&env);
    assert_eq!(live.len(), 1, "exactly one token");
    assert!(live[0].starts_with("glsa_"), "a service account key");
    assert_eq!(env.secret_text("deploy", "token").unwrap(), live[0]);
    let stack_url = env
        .get::<grafana_cloud_operator::crd::GrafanaStack>("main")
        .status
        .unwrap()
        .url
        .unwrap();
    assert_eq!(env.secret_text("deploy", "url").unwrap(), stack_url);
    assert_eq!(env.secret_text("deploy", "GRAFANA_URL").unwrap(), stack_url);
    assert_eq!(
        env.secret_text("deploy", "serviceAccountId").unwrap(),
        found[0].id.to_string()
    );
    assert!(status.expires_at.is_some(), "secondsToLive gives an expiry");
    let logged = logs().text();
    assert!(!logged.is_empty(), "the passes logged something");
    assert!(
        !logged.contains(&live[0]),
        "the token never reaches the logs"
    );

    let before = writes(&env);
    env.apply::<GrafanaStackServiceAccount>("ci").await.unwrap();
    env.apply::<GrafanaStackServiceAccountToken>("deploy")
        .await
        .unwrap();
    assert!(
        is_ready(&token_status(&env).conditions),
        "still Ready after the steady-state pass"
    );
    assert_eq!(
        writes(&env),
        before,
        "steady state: no grafana.com write, no Secret write, no status write"
    );
}

#[tokio::test]
async fn a_lost_create_answer_is_adopted_for_the_account_and_replaced_for_the_token() {
    let env = env().await;
    env.ready_stack("main", SLUG).await;
    env.put::<GrafanaStackServiceAccount>("ci", account_spec());
    // An answer lost to a 5xx: the account is looked up again in the same pass.
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", ACCOUNTS).times(1));
    env.apply::<GrafanaStackServiceAccount>("ci").await.unwrap();
    let status = env.get::<GrafanaStackServiceAccount>("ci").status.unwrap();
    assert!(is_ready(&status.conditions), "{:?}", status.conditions);
    assert_eq!(accounts(&env).len(), 1, "found again, not created twice");
    assert_eq!(status.id, Some(accounts(&env)[0].id));

    // A crash after the create, before the status write: the claim is all that is left.
    let mut crashed: GrafanaStackServiceAccount = env.put("other", account_spec());
    env.grafana
        .create_service_account(&env.token, SLUG, "team-a-other", "Editor", false)
        .await
        .unwrap();
    crashed.status = Some(GrafanaStackServiceAccountStatus {
        claimed_at: Some("2026-12-01T00:00:00Z".into()),
        name: Some("team-a-other".into()),
        stack_slug: Some(SLUG.into()),
        ..Default::default()
    });
    env.cluster.put(&crashed);
    env.apply::<GrafanaStackServiceAccount>("other")
        .await
        .unwrap();
    let status = env
        .get::<GrafanaStackServiceAccount>("other")
        .status
        .unwrap();
    assert!(is_ready(&status.conditions), "{:?}", status.conditions);
    assert_eq!(accounts(&env).len(), 2, "the claimed account was adopted");

    env.put::<GrafanaStackServiceAccountToken>("deploy", json!({"serviceAccountRef": "ci"}));
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", TOKENS).times(1));
    let lost = env.apply::<GrafanaStackServiceAccountToken>("deploy").await;
    assert!(lost.is_err(), "the token's create answer was lost");
    assert_eq!(live_keys(&env).len(), 1, "that create went through");
    env.apply::<GrafanaStackServiceAccountToken>("deploy")
        .await
        .unwrap();
    let live = live_keys(&env);
    assert_eq!(live.len(), 1, "the lost token was deleted: {live:?}");
    assert_eq!(env.secret_text("deploy", "token").unwrap(), live[0]);
}

#[tokio::test]
async fn a_same_named_account_made_by_hand_is_left_alone() {
    let env = env().await;
    env.ready_stack("main", SLUG).await;
    env.grafana
        .create_service_account(&env.token, SLUG, "team-a-ci", "Viewer", false)
        .await
        .unwrap();
    env.put::<GrafanaStackServiceAccount>("ci", account_spec());
    env.apply::<GrafanaStackServiceAccount>("ci").await.unwrap();
    let status = env.get::<GrafanaStackServiceAccount>("ci").status.unwrap();
    assert_eq!(reason(&status.conditions), "NameConflict");
    assert_eq!(status.id, None, "the foreign account is not recorded");
    let found = accounts(&env);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].role, "Viewer", "the foreign account is untouched");

    env.put::<GrafanaStackServiceAccount>("ci", account_spec());
    env.apply::<GrafanaStackServiceAccount>("ci").await.unwrap();
    let status = env.get::<GrafanaStackServiceAccount>("ci").status.unwrap();
    assert_eq!(
        reason(&status.conditions),
        "NameConflict",
        "a second pass does not adopt it either"
    );
    env.finalize::<GrafanaStackServiceAccount>("ci")
        .await
        .unwrap();
    assert_eq!(accounts(&env).len(), 1, "deleting the resource leaves it");
}

#[tokio::test]
async fn rotation_switches_the_secret_and_deletes_the_previous_token_after_its_overlap() {
    let env = env().await;
    deploying(
        &env,
        json!({"serviceAccountRef": "ci", "secondsToLive": 3600,
               "rotation": {"renewBefore": "10m", "keepPrevious": "2s"}}),
    )
    .await;
    let first = env.secret_text("deploy", "token").unwrap();
    env.age_token(
        "deploy",
        Duration::from_secs(55 * 60),
        Duration::from_secs(5 * 60),
    );
    env.apply::<GrafanaStackServiceAccountToken>("deploy")
        .await
        .unwrap();
    let second = env.secret_text("deploy", "token").unwrap();
    assert_ne!(second, first, "the Secret switched to the new token");
    let live = live_keys(&env);
    assert!(
        live.contains(&first) && live.contains(&second),
        "the previous token lives through its overlap"
    );
    assert!(token_status(&env).previous.is_some());
    tokio::time::sleep(Duration::from_secs(3)).await;
    env.apply::<GrafanaStackServiceAccountToken>("deploy")
        .await
        .unwrap();
    assert_eq!(
        live_keys(&env),
        vec![second],
        "after the overlap only the Secret's token is left"
    );
    assert!(token_status(&env).previous.is_none());
}

#[tokio::test]
async fn delete_removes_the_token_then_the_account_and_retain_keeps_them() {
    let env = env().await;
    deploying(&env, json!({"serviceAccountRef": "ci"})).await;
    let blocked = env.finalize::<GrafanaStackServiceAccount>("ci").await;
    assert!(blocked.is_err(), "the account's delete waits for its token");
    let status = env.get::<GrafanaStackServiceAccount>("ci").status.unwrap();
    assert_eq!(reason(&status.conditions), "Deleting");
    assert_eq!(accounts(&env).len(), 1, "nothing deleted while it waits");

    env.finalize::<GrafanaStackServiceAccountToken>("deploy")
        .await
        .unwrap();
    assert!(live_keys(&env).is_empty(), "the token was deleted");
    env.cluster
        .remove::<GrafanaStackServiceAccountToken>(Some(NS), "deploy");
    env.finalize::<GrafanaStackServiceAccount>("ci")
        .await
        .unwrap();
    assert!(accounts(&env).is_empty(), "the account was deleted");

    env.put::<GrafanaStackServiceAccount>(
        "kept",
        json!({"stackRef": "main", "role": "Viewer", "deletionPolicy": "Retain",
               "credentials": {"secretName": CREDENTIALS}}),
    );
    env.apply::<GrafanaStackServiceAccount>("kept")
        .await
        .unwrap();
    env.finalize::<GrafanaStackServiceAccount>("kept")
        .await
        .unwrap();
    assert_eq!(accounts(&env).len(), 1, "Retain keeps the account");
}
