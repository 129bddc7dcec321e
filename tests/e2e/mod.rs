//! End-to-end harness: a real etcd + kube-apiserver + kube-controller-manager, the
//! grafana.com simulator over real HTTP, and the real `grafana-cloud-operator run` binary as
//! a child process. Every test gets its own control plane, simulator and operator.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod conditions;
mod events;
mod leaks;
mod sockets;

#[allow(unused_imports)]
pub use conditions::{Conditioned, has_reason, is_ready, ready_message, ready_of};

use std::{
    future::Future,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use grafana_cloud_simulator::Simulator;
use k8s_openapi::{
    ByteString,
    api::core::v1::{Namespace, Secret},
};
use kube::{
    Api, Client, Resource,
    api::{ObjectMeta, PostParams},
    core::NamespaceResourceScope,
};
use serde::de::DeserializeOwned;
use testenv::{ChildProcess, ControlPlane};

/// The org every test namespace's credentials Secret belongs to.
pub const ORG: &str = "acme";
/// Its grafana.com token; it must never appear in logs, events or status.
pub const ORG_TOKEN: &str = "glc_acme_e2e_secret_token_0123456789";
/// A second org, for tenancy tests.
pub const OTHER_ORG: &str = "globex";
pub const OTHER_TOKEN: &str = "glc_globex_e2e_secret_token_9876543210";
/// Name of the credentials Secret `namespace()` creates.
pub const CREDENTIALS: &str = "grafana-credentials";

/// Options for [`Env::start_with`].
pub struct Options {
    pub readiness_delay: Duration,
    pub deleted_slug_reservation: Duration,
    pub resync_interval: &'static str,
    pub extra_args: Vec<String>,
    /// Start one operator process right away.
    pub operator: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            readiness_delay: Duration::from_millis(500),
            deleted_slug_reservation: Duration::from_secs(3),
            resync_interval: "30s",
            extra_args: Vec::new(),
            operator: true,
        }
    }
}

pub struct Env {
    pub cp: ControlPlane,
    pub sim: Simulator,
    pub client: Client,
    operator: Option<ChildProcess>,
    operator_args: Vec<String>,
    operator_runs: u32,
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let cp = ControlPlane::start()
            .await
            .expect("start the control plane (build it first with tests/control-plane/build.sh)");
        cp.apply_crds(repo().join("crds"))
            .await
            .expect("apply crds/");
        let sim = Simulator::builder()
            .org(ORG, ORG_TOKEN)
            .org(OTHER_ORG, OTHER_TOKEN)
            .readiness_delay(options.readiness_delay)
            .deleted_slug_reservation(options.deleted_slug_reservation)
            .start()
            .await
            .expect("start the simulator");
        let mut operator_args = vec![
            "run".to_string(),
            "--grafana-api-url".into(),
            sim.base_url().to_string(),
            "--metrics-addr".into(),
            "127.0.0.1:0".into(),
            "--health-addr".into(),
            "127.0.0.1:0".into(),
            "--resync-interval".into(),
            options.resync_interval.into(),
            "--log-format".into(),
            "json".into(),
            "--log-level".into(),
            "info,grafana_cloud_operator=debug".into(),
        ];
        operator_args.extend(options.extra_args);
        let client = cp.client();
        let mut env = Self {
            cp,
            sim,
            client,
            operator: None,
            operator_args,
            operator_runs: 0,
        };
        if options.operator {
            env.start_operator();
        }
        env
    }

    /// Starts (or restarts) the operator binary.
    pub fn start_operator(&mut self) {
        self.operator_runs += 1;
        let label = self.operator_runs.to_string();
        self.operator = Some(self.spawn_operator(&label, &[]));
    }

    /// Starts one more operator process with extra flags; its log is `operator-<label>.log`.
    pub fn spawn_operator(&self, label: &str, extra_args: &[&str]) -> ChildProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_grafana-cloud-operator"));
        cmd.args(&self.operator_args)
            .args(extra_args)
            .env("KUBECONFIG", self.cp.kubeconfig_path());
        let log = self.cp.logs_dir().join(format!("operator-{label}.log"));
        ChildProcess::spawn(cmd, log).expect("start the operator")
    }

    /// Starts two operator processes `a` and `b` with `args` and waits until one leads:
    /// returns `(leader, standby)`.
    pub async fn leader_and_standby(&self, args: &[&str]) -> (ChildProcess, ChildProcess) {
        let a = self.spawn_operator("a", args);
        let b = self.spawn_operator("b", args);
        self.eventually("one replica leads", || {
            a.read_log().contains("became the leader") || b.read_log().contains("became the leader")
        })
        .await;
        if a.read_log().contains("became the leader") {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// Kills the operator at once, as a crash would.
    pub fn kill_operator(&mut self) {
        if let Some(mut op) = self.operator.take() {
            op.kill().expect("kill the operator");
        }
    }

    /// Everything every operator process of this test has logged.
    pub fn operator_log(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.cp.logs_dir())
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("operator-"))
        });
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// Creates a namespace with a credentials Secret for [`ORG`].
    pub async fn namespace(&self, name: &str) -> String {
        self.namespace_of(name, ORG_TOKEN, ORG).await
    }

    /// Creates a namespace with a credentials Secret for [`OTHER_ORG`]: its calls draw on
    /// that org's budget and miss faults aimed at [`ORG`].
    pub async fn other_org_namespace(&self, name: &str) -> String {
        self.namespace_of(name, OTHER_TOKEN, OTHER_ORG).await
    }

    async fn namespace_of(&self, name: &str, token: &str, org: &str) -> String {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
        self.credentials_secret(name, CREDENTIALS, token, org).await;
        name.to_string()
    }

    pub async fn credentials_secret(&self, ns: &str, name: &str, token: &str, org: &str) {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: Some(
                [
                    ("token".to_string(), ByteString(token.as_bytes().to_vec())),
                    ("orgSlug".to_string(), ByteString(org.as_bytes().to_vec())),
                ]
                .into(),
            ),
            ..Default::default()
        };
        Api::<Secret>::namespaced(self.client.clone(), ns)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    pub fn api<K>(&self, ns: &str) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Polls `name` until `check` holds, or panics with the operator's log tail.
    pub async fn wait_for<K>(
        &self,
        api: &Api<K>,
        name: &str,
        what: &str,
        check: impl Fn(&K) -> bool,
    ) -> K
    where
        K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    {
        self.wait_for_timeout(api, name, what, Duration::from_secs(60), check)
            .await
    }

    pub async fn wait_for_timeout<K>(
        &self,
        api: &Api<K>,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&K) -> bool,
    ) -> K
    where
        K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(obj) = api.get_opt(name).await.unwrap() {
                if check(&obj) {
                    return obj;
                }
                last = Some(obj);
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {name}: {what}\nlast seen: {last:#?}\noperator log tail:\n{}",
                    tail(&self.operator_log(), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// How many reconcile passes of `ns/name` the operator has logged so far.
    pub fn passes(&self, ns: &str, name: &str) -> usize {
        let object = format!("/{name}.{ns}\"");
        self.operator_log()
            .lines()
            .filter(|l| l.contains("\"reconciled\"") && l.contains(&object))
            .count()
    }

    /// Waits until the operator has logged a pass of `ns/name` beyond the `before` counted
    /// earlier: the positive signal a "nothing happened" check waits for first.
    pub async fn next_pass(&self, step: &str, ns: &str, name: &str, before: usize) {
        self.eventually(step, || self.passes(ns, name) > before)
            .await;
    }

    /// Polls until `check` holds for a condition outside Kubernetes (the simulator, say).
    pub async fn eventually(&self, what: &str, check: impl Fn() -> bool) {
        self.eventually_async(what, || std::future::ready(check()))
            .await
    }

    pub async fn eventually_async<F: Future<Output = bool>>(
        &self,
        what: &str,
        check: impl Fn() -> F,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !check().await {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for: {what}\noperator log tail:\n{}",
                    tail(&self.operator_log(), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The grafana.com requests the simulator records while `duration` passes.
    pub async fn requests_during(
        &self,
        duration: Duration,
    ) -> Vec<grafana_cloud_simulator::RecordedRequest> {
        let before = self.sim.control().requests().len();
        tokio::time::sleep(duration).await;
        self.sim
            .control()
            .requests()
            .into_iter()
            .skip(before)
            .collect()
    }

    /// Deletes the namespace `ns` and waits until it is gone.
    pub async fn delete_namespace(&self, ns: &str) {
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        namespaces.delete(ns, &Default::default()).await.unwrap();
        self.eventually_async("namespace gone", || async {
            namespaces.get_opt(ns).await.unwrap().is_none()
        })
        .await;
    }

    /// POSTs `body` to `path` of the simulator's grafana.com API as the test org, as someone
    /// working by hand would; panics unless grafana.com accepts it.
    pub async fn by_hand(&self, what: &str, path: &str, body: serde_json::Value) {
        let reply = reqwest::Client::new()
            .post(format!("{}{path}", self.sim.base_url()))
            .bearer_auth(ORG_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(reply.status().is_success(), "{what}: {}", reply.status());
    }

    /// The operator's `/metrics` page, at the address it logged.
    pub async fn scrape_metrics(&self) -> String {
        let addr = logged_addr(&self.operator_log(), "metrics_addr")
            .expect("the operator logs its metrics address");
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("scrape /metrics")
            .text()
            .await
            .expect("read /metrics")
    }

    /// Whether the simulator holds no live stack with this slug (deleted stacks read as
    /// `status: deleted` until the simulator forgets them).
    pub fn stack_deleted_remotely(&self, slug: &str) -> bool {
        self.sim
            .control()
            .stack(slug)
            .is_none_or(|s| s.status == "deleted")
    }
}

/// The address an operator's log gives in `field` (`metrics_addr` or `health_addr`).
pub fn logged_addr(log: &str, field: &str) -> Option<std::net::SocketAddr> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|v| v.get(field)?.as_str()?.parse().ok())
}

/// A custom resource of `kind` named `name`; `spec.credentials` defaults to the namespace's
/// [`CREDENTIALS`] Secret.
pub fn resource<K: DeserializeOwned>(kind: &str, name: &str, spec: serde_json::Value) -> K {
    let mut spec = spec;
    spec.as_object_mut()
        .unwrap()
        .entry("credentials")
        .or_insert(serde_json::json!({"secretName": CREDENTIALS}));
    serde_json::from_value(serde_json::json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap()
}

/// Data key `key` of `secret`, as text.
pub fn data(secret: &Secret, key: &str) -> Option<String> {
    let value = secret.data.as_ref()?.get(key)?;
    Some(String::from_utf8(value.0.clone()).unwrap())
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
