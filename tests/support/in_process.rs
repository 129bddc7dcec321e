//! The controllers' real `apply` and `cleanup`, run in the test process against the
//! grafana.com simulator over real HTTP and an in-memory API server behind the cluster
//! port: one organisation, one namespace, one credentials Secret.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use grafana_cloud_operator::{
    controller::{
        Config, Context, Error,
        conditions::{is_ready, ready_condition},
        secret,
        shell::ManagedKind,
    },
    crd::GrafanaStack,
    fence::Fence,
    grafana::{ClientOptions, GrafanaClient, Token},
    metrics::Metrics,
};
use grafana_cloud_simulator::{Simulator, SimulatorBuilder};
use k8s_openapi::{
    ByteString,
    api::core::v1::{Namespace, Secret},
    apimachinery::pkg::apis::meta::v1::Condition,
    jiff::{SignedDuration, Timestamp},
};
use kube::{Resource, api::ObjectMeta};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use super::memory_cluster::MemoryCluster;

pub const ORG: &str = "acme";
pub const ADMIN_TOKEN: &str = "glc_scenario-admin-token-5d1e";
pub const NS: &str = "team-a";
pub const CREDENTIALS: &str = "grafana-creds";

/// The simulator, a client of it, the in-memory API server and a controller context.
pub struct World {
    pub sim: Simulator,
    pub grafana: GrafanaClient,
    pub token: Token,
    pub cluster: MemoryCluster,
    pub ctx: Arc<Context>,
}

/// A world whose simulator `customise` may configure further. The resync interval also
/// bounds how old a shared list may be.
pub async fn world(
    resync_interval: Duration,
    customise: impl FnOnce(SimulatorBuilder) -> SimulatorBuilder,
) -> World {
    let builder = Simulator::builder()
        .org(ORG, ADMIN_TOKEN)
        .readiness_delay(Duration::ZERO);
    let sim = customise(builder).start().await.unwrap();
    let options = ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 1,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..ClientOptions::default()
    };
    let url = sim.base_url().parse().unwrap();
    let grafana = GrafanaClient::new(url, options).unwrap();
    let cluster = MemoryCluster::default();
    cluster.put(&Namespace {
        metadata: ObjectMeta {
            name: Some(NS.into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    });
    cluster.put(&Secret {
        metadata: ObjectMeta {
            name: Some(CREDENTIALS.into()),
            namespace: Some(NS.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([
            ("token".into(), ByteString(ADMIN_TOKEN.into())),
            ("orgSlug".into(), ByteString(ORG.into())),
        ])),
        ..Secret::default()
    });
    let config = Config {
        resync_interval,
        inventory_interval: resync_interval,
        concurrency: 4,
        default_credentials: None,
        fence: Fence::always_open(),
    };
    let ctx = Context::new(
        Arc::new(cluster.clone()),
        grafana.clone(),
        config,
        Arc::new(Metrics::default()),
    );
    World {
        sim,
        grafana,
        token: Token::new(ADMIN_TOKEN),
        cluster,
        ctx,
    }
}

impl World {
    /// Applies a resource of kind `K` named `name` in the test namespace, as `kubectl apply`
    /// does: a changed spec on an existing object keeps its uid and status and bumps its
    /// generation.
    pub fn put<K>(&self, name: &str, spec: serde_json::Value) -> K
    where
        K: Resource<DynamicType = ()> + Serialize + DeserializeOwned,
    {
        let existing: Option<serde_json::Value> = self
            .cluster
            .object::<K>(Some(NS), name)
            .map(|obj| serde_json::to_value(obj).expect("JSON"));
        let mut body = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "metadata": {"name": name, "namespace": NS, "generation": 1},
            "spec": spec,
        });
        if let Some(existing) = existing {
            let generation = existing["metadata"]["generation"].as_i64().unwrap_or(1);
            body["metadata"]["generation"] = json!(generation + 1);
            body["metadata"]["uid"] = existing["metadata"]["uid"].clone();
            body["status"] = existing["status"].clone();
        }
        let obj: K = serde_json::from_value(body).expect("the spec fits the kind");
        self.cluster.put(&obj);
        self.get(name)
    }

    /// The `K` named `name` as the API server has it now.
    pub fn get<K: Resource<DynamicType = ()> + DeserializeOwned>(&self, name: &str) -> K {
        self.cluster
            .object(Some(NS), name)
            .unwrap_or_else(|| panic!("{} {name} exists", K::kind(&())))
    }

    /// One reconcile pass of `K`'s real controller over `name` as the API server has it.
    pub async fn apply<K: ManagedKind>(&self, name: &str) -> Result<(), Error> {
        K::apply(&self.get::<K>(name), &self.ctx).await.map(|_| ())
    }

    /// One cleanup pass of `K`'s real controller over `name`.
    pub async fn finalize<K: ManagedKind>(&self, name: &str) -> Result<(), Error> {
        K::cleanup(&self.get::<K>(name), &self.ctx)
            .await
            .map(|_| ())
    }

    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.cluster.object(Some(NS), name)
    }

    /// GrafanaStack `name` with `slug`, reconciled until Ready.
    pub async fn ready_stack(&self, name: &str, slug: &str) -> GrafanaStack {
        self.put::<GrafanaStack>(
            name,
            json!({"slug": slug, "credentials": {"secretName": CREDENTIALS}}),
        );
        for _ in 0..20 {
            let stack: GrafanaStack = self.get(name);
            if stack
                .status
                .as_ref()
                .is_some_and(|s| is_ready(&s.conditions))
            {
                return stack;
            }
            self.apply::<GrafanaStack>(name).await.unwrap();
        }
        panic!("GrafanaStack {name} did not become Ready");
    }

    /// Moves Secret `name`'s record of its token back in time, as if it had lived `age` and
    /// had `left` to live.
    pub fn age_token(&self, name: &str, age: Duration, left: Duration) {
        let mut secret: Secret = self.secret(name).unwrap();
        let now = Timestamp::now();
        let annotations = secret
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        let created = now
            .checked_sub(SignedDuration::try_from(age).unwrap())
            .unwrap();
        let expires = now
            .checked_add(SignedDuration::try_from(left).unwrap())
            .unwrap();
        annotations.insert(secret::CREATED_AT_ANNOTATION.into(), created.to_string());
        annotations.insert(secret::EXPIRES_AT_ANNOTATION.into(), expires.to_string());
        self.cluster.put(&secret);
    }

    /// Data key `key` of Secret `name`, which must exist.
    pub fn secret_text(&self, name: &str, key: &str) -> Option<String> {
        let secret = self.secret(name).expect("the Secret exists");
        let value = secret.data?.get(key)?.0.clone();
        Some(String::from_utf8(value).expect("UTF-8"))
    }
}

/// The Ready condition's reason, or "" without one.
pub fn reason(conditions: &[Condition]) -> String {
    ready_condition(conditions)
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}
