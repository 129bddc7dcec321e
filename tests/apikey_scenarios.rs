//! API key scenarios through the controllers' real `apply` and `cleanup`, against the
//! grafana.com simulator over real HTTP, with an in-memory API server behind the cluster
//! port (`tests/support/memory_cluster.rs`). `tests/e2e_apikey.rs` runs the same kind of
//! scenarios through the real operator binary and a real kube-apiserver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/memory_cluster.rs"]
mod memory_cluster;
#[path = "apikey_scenarios/stack_keys.rs"]
mod stack_keys;

use std::time::Duration;

use captured_logs::logs;
use in_process::{ADMIN_TOKEN, NS, ORG, World, world};

use grafana_cloud_operator::{
    controller::{
        Error,
        apikey::claim::{self, CLAIM_ANNOTATION},
        conditions::{is_ready, ready_condition},
        secret,
        shell::ManagedKind,
    },
    crd::{FINALIZER, GrafanaCloudApiKey, GrafanaCloudApiKeyStatus},
    grafana::ApiKeyRole,
};
use grafana_cloud_simulator::Fault;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use serde_json::json;

/// The remote key name of the resource `metrics` in `team-a`.
const NAME: &str = "team-a-metrics";
const KEYS: &str = "/api/orgs/{org}/api-keys";

type Env = World;

async fn env() -> Env {
    env_with_resync(Duration::from_secs(300)).await
}

/// The resync interval also bounds how old a shared list of keys may be.
async fn env_with_resync(resync_interval: Duration) -> Env {
    logs();
    world(resync_interval, |sim| sim).await
}

impl Env {
    /// Applies a GrafanaCloudApiKey named `name` in the test namespace.
    fn put_key(&self, name: &str, spec: serde_json::Value) {
        let mut spec = spec;
        spec["credentials"] = json!({"secretName": "grafana-creds"});
        let key: GrafanaCloudApiKey = serde_json::from_value(json!({
            "apiVersion": "grafanacloud.operator.dev/v1alpha1",
            "kind": "GrafanaCloudApiKey",
            "metadata": {"name": name, "namespace": NS, "generation": 1},
            "spec": spec,
        }))
        .unwrap();
        self.cluster.put(&key);
    }

    fn key(&self, name: &str) -> GrafanaCloudApiKey {
        self.cluster.object(Some(NS), name).unwrap()
    }

    fn status(&self, name: &str) -> GrafanaCloudApiKeyStatus {
        self.key(name).status.unwrap_or_default()
    }

    /// One reconcile pass of the real controller over the resource as the API server has
    /// it now.
    async fn pass(&self, name: &str) -> Result<(), Error> {
        GrafanaCloudApiKey::apply(&self.key(name), &self.ctx)
            .await
            .map(|_| ())
    }

    async fn cleanup(&self, name: &str) -> Result<(), Error> {
        GrafanaCloudApiKey::cleanup(&self.key(name), &self.ctx)
            .await
            .map(|_| ())
    }

    /// The token in Secret `name`, which must exist and hold one.
    fn secret_token(&self, name: &str) -> String {
        let secret = self.secret(name).expect("the Secret exists");
        secret::stored_token(&secret)
            .expect("the Secret holds a token")
            .expose()
            .to_string()
    }

    /// The token the simulator issued for the single live org key, which must be the only one.
    fn only_live_token(&self) -> String {
        let keys = self.sim.control().org_keys(ORG);
        assert_eq!(keys.len(), 1, "exactly one live org key");
        assert_eq!(keys[0].name, NAME);
        keys[0].token.expose().to_string()
    }

    fn ready_reason(&self, name: &str) -> String {
        let status = self.status(name);
        ready_condition(&status.conditions)
            .map(|c| c.reason.clone())
            .unwrap_or_default()
    }

    fn assert_no_token_leaked(&self) {
        let logged = logs().text();
        let events: String = self
            .cluster
            .events()
            .iter()
            .map(|e| e.note.clone())
            .collect();
        let status = serde_json::to_string(&self.status("metrics")).unwrap();
        for token in self.sim.control().issued_tokens() {
            for (place, text) in [("logs", &logged), ("events", &events), ("status", &status)] {
                assert!(
                    !text.contains(token.expose()),
                    "a token reached the {place}"
                );
            }
        }
        assert!(!logged.contains(ADMIN_TOKEN), "the admin token was logged");
    }
}

fn org_key_spec() -> serde_json::Value {
    json!({"role": "MetricsPublisher"})
}

#[tokio::test]
async fn org_key_create_puts_the_issued_token_in_the_secret_and_a_second_pass_writes_nothing() {
    let env = env().await;
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap();
    assert!(
        is_ready(&env.status("metrics").conditions),
        "Ready after the first pass"
    );
    assert_eq!(
        (
            env.cluster.writes("GrafanaCloudApiKey"),
            env.cluster.writes("Secret")
        ),
        (2, 1),
        "first pass: one metadata write (finalizer and claim), one status write and one \
         Secret write"
    );
    assert_eq!(env.secret_token("metrics"), env.only_live_token());
    let record = secret::stored_record(&env.secret("metrics").unwrap()).unwrap();
    assert_eq!(record.name, NAME);
    assert_eq!(record.id, env.sim.control().org_keys(ORG)[0].id.to_string());

    let writes = (
        env.cluster.writes("Secret"),
        env.cluster.writes("GrafanaCloudApiKey"),
    );
    env.pass("metrics").await.unwrap();
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        1,
        "the second pass created a key"
    );
    assert_eq!(
        (
            env.cluster.writes("Secret"),
            env.cluster.writes("GrafanaCloudApiKey")
        ),
        writes,
        "the second pass wrote to the API server"
    );
    env.assert_no_token_leaked();
}

#[tokio::test]
async fn a_deleted_secret_gets_a_new_key_and_exactly_one_key_stays_live() {
    let env = env().await;
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap();
    let first = env.secret_token("metrics");
    env.cluster.remove::<Secret>(Some(NS), "metrics");
    env.pass("metrics").await.unwrap();
    assert_ne!(
        env.secret_token("metrics"),
        first,
        "the lost token was reused"
    );
    assert_eq!(env.secret_token("metrics"), env.only_live_token());
    // The shared list is older than the first key, so the first create of this pass is
    // answered 409; the key is then looked up fresh, deleted by name and created again.
    assert_eq!(
        env.sim
            .control()
            .count("DELETE", "/api/orgs/{org}/api-keys/{name}"),
        1
    );
}

#[tokio::test]
async fn a_crash_between_create_and_secret_write_converges_to_one_key_with_its_token() {
    let env = env().await;
    env.put_key("metrics", org_key_spec());
    // The create commits, but its answer is lost: the token never reaches a Secret.
    env.sim
        .control()
        .inject(Fault::error_after(500).on("POST", KEYS).times(1));
    let err = env.pass("metrics").await.unwrap_err();
    assert_eq!(
        env.sim.control().org_keys(ORG).len(),
        1,
        "the create committed"
    );
    let lost = env.sim.control().org_keys(ORG)[0]
        .token
        .expose()
        .to_string();
    assert!(!err.to_string().contains(&lost) && !format!("{err:?}").contains(&lost));
    assert!(
        env.secret("metrics").is_none(),
        "no Secret after the lost answer"
    );
    let key = env.key("metrics");
    assert_eq!(
        claim::verified(&key, &env.token).map(|c| c.name).as_deref(),
        Some(NAME),
        "the claim was recorded before the create"
    );
    assert!(
        key.finalizers().iter().any(|f| f == FINALIZER),
        "the finalizer came with the claim"
    );

    env.pass("metrics").await.unwrap();
    assert_eq!(env.secret_token("metrics"), env.only_live_token());
    assert_ne!(env.secret_token("metrics"), lost);
    env.assert_no_token_leaked();
}

#[tokio::test]
async fn a_vanished_remote_key_is_recreated_at_the_next_fresh_list() {
    let env = env_with_resync(Duration::from_secs(1)).await;
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap();
    env.grafana
        .delete_org_api_key(&env.token, ORG, NAME)
        .await
        .unwrap();
    // Past the resync interval and the second its creation time was cut to, the shared
    // list no longer shows the key, and the key is too old to be missing from it by chance.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    env.pass("metrics").await.unwrap();
    assert_eq!(env.secret_token("metrics"), env.only_live_token());
    assert_eq!(env.sim.control().count("POST", KEYS), 2);
}

#[tokio::test]
async fn a_same_named_key_someone_else_made_is_left_alone() {
    let env = env().await;
    env.grafana
        .create_org_api_key(&env.token, ORG, NAME, ApiKeyRole::Viewer)
        .await
        .unwrap();
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap();
    assert_eq!(env.ready_reason("metrics"), "KeyConflict");
    assert_eq!(
        env.status("metrics").key_name,
        None,
        "a foreign key is never claimed"
    );
    assert!(env.secret("metrics").is_none());
    assert_eq!(env.sim.control().count("POST", KEYS), 1);
    assert_eq!(
        env.sim
            .control()
            .count("DELETE", "/api/orgs/{org}/api-keys/{name}"),
        0
    );
    assert_eq!(env.sim.control().org_keys(ORG)[0].role, "Viewer");
}

/// The claim and finalizer are written against the copy the pass started from, guarded by
/// its resourceVersion. When someone changed the resource since (here: a label, and another
/// controller's finalizer), the write is refused, the resource read fresh, and the write
/// made again without dropping what the other writer added.
#[tokio::test]
async fn a_claim_against_a_stale_copy_is_written_again_from_a_fresh_read() {
    let env = env().await;
    env.put_key("metrics", org_key_spec());
    let stale = env.key("metrics");
    let mut changed = stale.clone();
    changed.labels_mut().insert("team".into(), "a".into());
    changed.finalizers_mut().push("example.com/keep".into());
    env.cluster.put(&changed);

    GrafanaCloudApiKey::apply(&stale, &env.ctx).await.unwrap();
    let key = env.key("metrics");
    assert_eq!(
        key.finalizers(),
        ["example.com/keep", FINALIZER],
        "the other writer's finalizer was dropped, or ours is missing"
    );
    assert_eq!(key.labels().get("team").map(String::as_str), Some("a"));
    assert_eq!(
        claim::verified(&key, &env.token).map(|c| c.name).as_deref(),
        Some(NAME)
    );
    assert_eq!(env.secret_token("metrics"), env.only_live_token());
}

/// A claim written by hand (whoever may edit the resource may edit its annotations) names
/// the key and the time it was made, but carries no seal made with the organisation's
/// token: neither a pass nor a delete touches the key.
#[tokio::test]
async fn a_claim_written_by_hand_neither_replaces_nor_deletes_a_key_someone_else_made() {
    let env = env().await;
    let made = env
        .grafana
        .create_org_api_key(&env.token, ORG, NAME, ApiKeyRole::Viewer)
        .await
        .unwrap();
    env.put_key("metrics", org_key_spec());
    let mut key = env.key("metrics");
    let now = k8s_openapi::jiff::Timestamp::now();
    key.annotations_mut().insert(
        CLAIM_ANNOTATION.into(),
        json!({"name": NAME, "at": now.to_string(), "seal": "00".repeat(32)}).to_string(),
    );
    key.finalizers_mut().push(FINALIZER.into());
    env.cluster.put(&key);

    env.pass("metrics").await.unwrap();
    assert_eq!(
        env.ready_reason("metrics"),
        "KeyConflict",
        "pass: a hand-written claim was taken as the operator's"
    );
    env.cleanup("metrics").await.unwrap();
    let keys = env.sim.control().org_keys(ORG);
    assert_eq!(
        (keys.len(), keys[0].id.to_string()),
        (1, made.id.clone()),
        "delete: the key someone else made is gone or was replaced"
    );
    assert!(
        env.cluster
            .events()
            .iter()
            .any(|e| e.reason == "Retained" && e.note.contains("no longer verifies")),
        "delete: no event says why the key stays"
    );
    assert_eq!(
        env.sim
            .control()
            .count("DELETE", "/api/orgs/{org}/api-keys/{name}"),
        0
    );
}

/// The first pass makes no dry run: its key is revoked when the Secret is refused. Every
/// retry after that refusal dry-runs first, and creates nothing while the refusal lasts.
#[tokio::test]
async fn a_refused_secret_leaves_no_key_and_its_retries_create_none() {
    let env = env().await;
    env.cluster
        .refuse_writes("Secret", 403, "admission webhook denied the request");
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap_err();
    assert_eq!(env.ready_reason("metrics"), "SecretRejected");
    assert!(
        env.sim.control().org_keys(ORG).is_empty(),
        "first pass: the key whose Secret was refused is still live"
    );
    assert_eq!(env.sim.control().count("POST", KEYS), 1);
    env.pass("metrics").await.unwrap_err();
    assert_eq!(env.ready_reason("metrics"), "SecretRejected");
    assert_eq!(
        env.sim.control().count("POST", KEYS),
        1,
        "retry: a key was created while the Secret is still refused"
    );
}

#[tokio::test]
async fn deleting_an_org_key_twice_counts_the_404_as_success() {
    let env = env().await;
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap();
    env.cleanup("metrics").await.unwrap();
    assert!(
        env.sim.control().org_keys(ORG).is_empty(),
        "the key was not deleted"
    );
    // The claim is still held, so the second cleanup asks again and takes the 404 as done.
    env.cleanup("metrics").await.unwrap();
    assert_eq!(
        env.sim
            .control()
            .count("DELETE", "/api/orgs/{org}/api-keys/{name}"),
        2,
        "the second cleanup did not ask grafana.com"
    );
}

/// A key made before claims were annotations has none; its Secret's record still lets the
/// delete remove it.
#[tokio::test]
async fn a_key_without_a_claim_annotation_is_deleted_when_its_secret_records_it() {
    let env = env().await;
    env.put_key("metrics", org_key_spec());
    env.pass("metrics").await.unwrap();
    let mut key = env.key("metrics");
    key.annotations_mut().remove(CLAIM_ANNOTATION);
    env.cluster.put(&key);
    env.cleanup("metrics").await.unwrap();
    assert!(
        env.sim.control().org_keys(ORG).is_empty(),
        "the key its Secret records was left behind"
    );
}

#[tokio::test]
async fn removed_api_keys_say_which_kind_to_use_and_are_not_retried() {
    logs();
    let env = world(Duration::from_secs(300), |sim| sim.api_keys_removed()).await;
    env.put_key("metrics", org_key_spec());
    let err = env.pass("metrics").await.unwrap_err();
    assert_eq!(env.ready_reason("metrics"), "EndpointRemoved");
    let message = ready_condition(&env.status("metrics").conditions)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("GrafanaCloudAccessPolicyToken"),
        "{message}"
    );
    assert_eq!(err.retry_after(3), None, "retried before the spec changes");
}
