//! API key scenarios against the grafana.com simulator over real HTTP, without Kubernetes:
//! the controller's own decision, grafana.com and Secret-building functions, composed the
//! way a reconcile composes them. The Secret here is the one the controller would write.
//! `tests/e2e_apikey.rs` runs the same scenarios through the real operator binary and a real
//! kube-apiserver.
#![allow(clippy::unwrap_used)]

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "apikey_scenarios/stack_keys.rs"]
mod stack_keys;

use std::time::Duration;

use captured_logs::logs;

use grafana_cloud_operator::{
    controller::{
        apikey::{
            desired::{self, OrgPlan},
            org,
        },
        secret::{self, KeyRecord, Material, Rendered, Target},
    },
    grafana::{ApiKeyRole, ClientOptions, GrafanaClient, Token},
};
use grafana_cloud_simulator::{Fault, Simulator};
use k8s_openapi::{
    api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::OwnerReference, jiff::Timestamp,
};

const ORG: &str = "acme";
const ADMIN_TOKEN: &str = "glc_scenario-admin-token-5d1e";
const NAME: &str = "team-a-metrics";
const KEYS: &str = "/api/orgs/{org}/api-keys";

struct Env {
    sim: Simulator,
    grafana: GrafanaClient,
    token: Token,
}

async fn env() -> Env {
    logs();
    let sim = Simulator::builder()
        .org(ORG, ADMIN_TOKEN)
        .readiness_delay(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let options = ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 1,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..ClientOptions::default()
    };
    let grafana = GrafanaClient::new(sim.base_url().parse().unwrap(), options).unwrap();
    Env {
        sim,
        grafana,
        token: Token::new(ADMIN_TOKEN),
    }
}

fn target() -> Target<'static> {
    Target {
        name: "metrics",
        namespace: "team-a",
        owner: OwnerReference {
            api_version: "grafanacloud.operator.dev/v1alpha1".into(),
            kind: "GrafanaCloudApiKey".into(),
            name: "metrics".into(),
            uid: "uid-1".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        },
    }
}

fn org_secret(token: &Token, record: &KeyRecord) -> Secret {
    let material = Material {
        token,
        org_slug: ORG,
        key: record,
        stack: None,
        stack_key: false,
    };
    secret::build(target(), &material, &Rendered::default())
}

/// One org-key reconcile as the controller runs it, with the Secret it found (if any) and
/// whether status claims the key name. Returns the Secret it would write, if it writes one.
async fn reconcile_org(env: &Env, stored: Option<&Secret>, claimed: bool) -> Option<Secret> {
    let token = stored.and_then(secret::stored_token);
    let record = stored.and_then(secret::stored_record);
    let claimed = claimed || record.as_ref().is_some_and(|r| r.name == NAME);
    let remote = org::find(&env.grafana, &env.token, ORG, NAME)
        .await
        .unwrap();
    match desired::org_plan(remote.as_ref(), record.as_ref(), token.is_some(), claimed) {
        OrgPlan::Keep | OrgPlan::Conflict => None,
        OrgPlan::Create => Some(create_org(env, false).await),
        OrgPlan::Recreate { delete_first } => Some(create_org(env, delete_first).await),
    }
}

async fn create_org(env: &Env, delete_first: bool) -> Secret {
    let created = org::create(
        &env.grafana,
        &env.token,
        ORG,
        NAME,
        ApiKeyRole::MetricsPublisher,
        delete_first,
    )
    .await
    .unwrap();
    org_secret(&created.token, &org::record(&created, Timestamp::now()))
}

/// The token the simulator issued for the single live org key, which must be the only one.
fn only_live_token(env: &Env) -> String {
    let keys = env.sim.control().org_keys(ORG);
    assert_eq!(keys.len(), 1, "exactly one live org key");
    assert_eq!(keys[0].name, NAME);
    keys[0].token.expose().to_string()
}

fn secret_token(secret: &Secret) -> String {
    secret::stored_token(secret).unwrap().expose().to_string()
}

fn assert_no_token_logged(env: &Env) {
    let logged = logs().text();
    for token in env.sim.control().issued_tokens() {
        assert!(!logged.contains(token.expose()), "a token was logged");
    }
    assert!(!logged.contains(ADMIN_TOKEN));
}

#[tokio::test]
async fn org_key_create_puts_the_issued_token_in_the_secret_and_a_second_pass_creates_nothing() {
    let env = env().await;
    let secret = reconcile_org(&env, None, false).await.unwrap();
    assert_eq!(secret_token(&secret), only_live_token(&env));
    let record = secret::stored_record(&secret).unwrap();
    assert_eq!(record.name, NAME);
    assert_eq!(record.id, env.sim.control().org_keys(ORG)[0].id.to_string());

    assert!(reconcile_org(&env, Some(&secret), true).await.is_none());
    assert_eq!(env.sim.control().count("POST", KEYS), 1);
    assert_eq!(
        env.sim
            .control()
            .count("DELETE", "/api/orgs/{org}/api-keys/{name}"),
        0
    );
    assert_no_token_logged(&env);
}

#[tokio::test]
async fn a_deleted_secret_gets_a_new_key_and_exactly_one_key_stays_live() {
    let env = env().await;
    let first = reconcile_org(&env, None, false).await.unwrap();
    // The Secret is gone; status still claims the key name.
    let second = reconcile_org(&env, None, true).await.unwrap();
    assert_ne!(secret_token(&second), secret_token(&first));
    assert_eq!(secret_token(&second), only_live_token(&env));
    assert_eq!(env.sim.control().count("POST", KEYS), 2);
}

#[tokio::test]
async fn a_crash_between_create_and_secret_write_converges_to_one_key_with_its_token() {
    let env = env().await;
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", KEYS).times(1));
    let err = org::create(
        &env.grafana,
        &env.token,
        ORG,
        NAME,
        ApiKeyRole::MetricsPublisher,
        false,
    )
    .await
    .unwrap_err();
    // The key exists remotely, but its token never reached a Secret.
    assert_eq!(env.sim.control().org_keys(ORG).len(), 1);
    let lost = env.sim.control().org_keys(ORG)[0]
        .token
        .expose()
        .to_string();
    assert!(!err.to_string().contains(&lost));
    assert!(!format!("{err:?}").contains(&lost));

    let secret = reconcile_org(&env, None, true).await.unwrap();
    assert_eq!(secret_token(&secret), only_live_token(&env));
    assert_ne!(secret_token(&secret), lost);
    assert_no_token_logged(&env);
}

#[tokio::test]
async fn a_vanished_remote_key_is_recreated_and_the_secret_rewritten() {
    let env = env().await;
    let first = reconcile_org(&env, None, false).await.unwrap();
    env.grafana
        .delete_org_api_key(&env.token, ORG, NAME)
        .await
        .unwrap();
    let second = reconcile_org(&env, Some(&first), true).await.unwrap();
    assert_eq!(secret_token(&second), only_live_token(&env));
}

#[tokio::test]
async fn a_same_named_key_someone_else_made_is_left_alone() {
    let env = env().await;
    env.grafana
        .create_org_api_key(&env.token, ORG, NAME, ApiKeyRole::Viewer)
        .await
        .unwrap();
    assert!(reconcile_org(&env, None, false).await.is_none());
    assert_eq!(env.sim.control().count("POST", KEYS), 1);
    assert_eq!(
        env.sim
            .control()
            .count("DELETE", "/api/orgs/{org}/api-keys/{name}"),
        0
    );
    assert_eq!(env.sim.control().org_keys(ORG)[0].role, "Viewer");
}

#[tokio::test]
async fn deleting_an_org_key_twice_counts_the_404_as_success() {
    let env = env().await;
    reconcile_org(&env, None, false).await.unwrap();
    for _ in 0..2 {
        env.grafana
            .delete_org_api_key(&env.token, ORG, NAME)
            .await
            .unwrap();
    }
    assert!(env.sim.control().org_keys(ORG).is_empty());
}
