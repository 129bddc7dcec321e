//! The grafana.com simulator as a child process, and its `/_sim` control routes.

use std::{collections::BTreeMap, path::Path, process::Command, time::Duration};

use serde::Deserialize;
use testenv::ChildProcess;

use crate::BoxError;

/// One request from the simulator's log.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub seq: u64,
    /// RFC 3339 arrival time.
    #[serde(default)]
    pub at: String,
    pub method: String,
    pub template: Option<String>,
    pub status: Option<u16>,
    pub org: Option<String>,
}

impl Request {
    /// `"GET /api/orgs/{org}/instances"`, or the method alone for unmatched paths.
    pub fn endpoint(&self) -> String {
        match &self.template {
            Some(t) => format!("{} {t}", self.method),
            None => format!("{} <unmatched>", self.method),
        }
    }

    /// Which controller's work the call belongs to: `stacks` or `keys`.
    pub fn kind(&self) -> &'static str {
        match &self.template {
            Some(t) if t.contains("api-keys") || t.contains("/api/auth/keys") => "keys",
            _ => "stacks",
        }
    }

    /// Seconds from `start` to the request's arrival (negative if earlier or unreadable).
    pub fn seconds_since(&self, start: chrono::DateTime<chrono::Utc>) -> f64 {
        chrono::DateTime::parse_from_rfc3339(&self.at)
            .map(|at| (at.with_timezone(&chrono::Utc) - start).as_seconds_f64())
            .unwrap_or(-1.0)
    }

    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// A call that creates a remote object: a stack or an org key.
    pub fn is_create(&self) -> bool {
        self.method == "POST"
            && matches!(
                self.template.as_deref(),
                Some("/api/instances" | "/api/orgs/{org}/api-keys")
            )
    }
}

/// Settings of the simulator process.
pub struct SimOptions {
    /// `(org slug, bearer token)` pairs.
    pub orgs: Vec<(String, String)>,
    /// Mean latency; each call takes `latency ± jitter`, uniformly.
    pub latency: Duration,
    pub jitter: Duration,
    pub readiness_delay: Duration,
}

pub struct Sim {
    process: ChildProcess,
    pub base_url: String,
    control_url: String,
    http: reqwest::Client,
}

impl Sim {
    pub async fn start(bin: &Path, log: &Path, options: &SimOptions) -> Result<Self, BoxError> {
        // The simulator adds `fixed + uniform(0..=jitter)`: centre it on the mean.
        let fixed = options.latency.saturating_sub(options.jitter);
        let spread = options.jitter * 2;
        let mut cmd = Command::new(bin);
        cmd.args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--latency", &format!("{}ms", fixed.as_millis())])
            .args(["--jitter", &format!("{}ms", spread.as_millis())])
            .args([
                "--readiness-delay",
                &format!("{}ms", options.readiness_delay.as_millis()),
            ])
            .env("RUST_LOG", "warn,grafana_cloud_simulator=info");
        for (slug, token) in &options.orgs {
            cmd.arg("--org").arg(format!("{slug}={token}"));
        }
        let mut process = ChildProcess::spawn(cmd, log)?;
        process
            .wait_for_log("control_url", Duration::from_secs(30))
            .await?;
        let control_url = process
            .read_log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| Some(v.pointer("/fields/control_url")?.as_str()?.to_string()))
            .ok_or("the simulator did not log its control_url")?;
        let base_url = control_url.replace("/_sim", "/api");
        Ok(Self {
            process,
            base_url,
            control_url,
            http: reqwest::Client::new(),
        })
    }

    /// Every request recorded so far.
    pub async fn requests(&self) -> Result<Vec<Request>, BoxError> {
        let url = format!("{}/requests", self.control_url);
        Ok(self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Requests with a sequence number above `after`.
    pub async fn requests_after(&self, after: u64) -> Result<Vec<Request>, BoxError> {
        let mut all = self.requests().await?;
        all.retain(|r| r.seq > after);
        Ok(all)
    }

    /// The highest sequence number recorded so far (0 when none).
    pub async fn last_seq(&self) -> Result<u64, BoxError> {
        Ok(self
            .requests()
            .await?
            .iter()
            .map(|r| r.seq)
            .max()
            .unwrap_or(0))
    }

    /// Number of org keys per org and number of live stacks, from `/_sim/state`.
    pub async fn remote_objects(&self) -> Result<(BTreeMap<String, u64>, u64), BoxError> {
        let url = format!("{}/state", self.control_url);
        let state: serde_json::Value = self.http.get(url).send().await?.json().await?;
        let mut keys = BTreeMap::new();
        for key in state
            .get("orgKeys")
            .and_then(|k| k.as_array())
            .into_iter()
            .flatten()
        {
            let org = key.get("orgSlug").and_then(|s| s.as_str()).unwrap_or("?");
            *keys.entry(org.to_string()).or_default() += 1;
        }
        let stacks = state
            .get("stacks")
            .and_then(|s| s.as_array())
            .map_or(0, |s| {
                s.iter()
                    .filter(|s| s.get("status").and_then(|v| v.as_str()) != Some("deleted"))
                    .count() as u64
            });
        Ok((keys, stacks))
    }

    pub async fn stop(mut self) {
        let _ = self.process.terminate(Duration::from_secs(5)).await;
    }
}
