//! Rotation in the token scenario: every tenth token has a lifetime and rotation. After
//! steady state, their `renewBefore` grows so that each is due at once; the phase counts the
//! creates, and checks throughout, by authenticating with it, that every token a Secret holds
//! works: a Secret must never hold a dead token.

use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use grafana_cloud_operator::{
    controller::secret::KEY_NAME_ANNOTATION, crd::GrafanaCloudAccessPolicyToken,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    BoxError,
    scenario::Env,
    sim::Request,
    workload::{self, namespace},
};

/// Every how many tokens one rotates.
pub const EVERY: usize = 10;

/// The lifetime and rotation of a rotating token; `renewBefore` makes it due only at the
/// rotation phase.
pub fn spec_extra(j: usize) -> Option<serde_json::Value> {
    j.is_multiple_of(EVERY).then(
        || json!({"expiresAfter": "720h", "rotation": {"renewBefore": "1h", "keepPrevious": "5s"}}),
    )
}

/// `renewBefore` that makes a token created more than 30 s ago due now.
const DUE_NOW: &str = "719h59m30s";

/// What the rotation phase measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rotation {
    pub tokens: usize,
    /// From the patch to every Secret holding its new token.
    pub seconds: f64,
    /// Successful `POST /v1/tokens` in the phase.
    pub creates: u64,
    /// Times a Secret's token was tried against grafana.com during the phase, and how many of
    /// those were refused.
    pub checks: u64,
    pub dead: u64,
}

struct Rotating {
    ns: String,
    name: String,
    org: String,
    before: String,
}

fn key_name(secret: &Secret) -> String {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(KEY_NAME_ANNOTATION))
        .cloned()
        .unwrap_or_default()
}

fn token_of(secret: &Secret) -> Option<String> {
    let value = secret.data.as_ref()?.get("token")?;
    String::from_utf8(value.0.clone()).ok()
}

/// Whether grafana.com accepts `token`: it authenticates as its org.
async fn works(http: &reqwest::Client, base_url: &str, org: &str, token: &str) -> bool {
    http.get(format!("{base_url}/orgs/{org}"))
        .bearer_auth(token)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

pub async fn run(
    env: &Env,
    tokens: usize,
    policies: usize,
    orgs: usize,
    timeout: Duration,
) -> Result<Rotation, BoxError> {
    let client: &Client = &env.client;
    let mut rotating = Vec::new();
    for j in (0..tokens).filter(|j| j.is_multiple_of(EVERY)) {
        let policy = j % policies;
        let ns = namespace(policy % orgs);
        let name = format!("token-{j}");
        let secret = Api::<Secret>::namespaced(client.clone(), &ns)
            .get(&name)
            .await?;
        rotating.push(Rotating {
            org: workload::org(policy % orgs).0,
            before: key_name(&secret),
            ns,
            name,
        });
    }
    let seq = env.sim.last_seq().await?;
    let started = Instant::now();
    let patch = Patch::Merge(json!({"spec": {"rotation": {"renewBefore": DUE_NOW}}}));
    for r in &rotating {
        Api::<GrafanaCloudAccessPolicyToken>::namespaced(client.clone(), &r.ns)
            .patch(&r.name, &PatchParams::default(), &patch)
            .await?;
    }
    let http = reqwest::Client::new();
    let base_url = env.sim.base_url.clone();
    let (mut checks, mut dead) = (0u64, 0u64);
    loop {
        let results: Vec<Result<(bool, bool), BoxError>> = stream::iter(&rotating)
            .map(|r| {
                let (http, base_url) = (&http, base_url.as_str());
                async move {
                    let secret = Api::<Secret>::namespaced(client.clone(), &r.ns)
                        .get(&r.name)
                        .await?;
                    let switched = key_name(&secret) != r.before;
                    let alive = match token_of(&secret) {
                        Some(token) => works(http, base_url, &r.org, &token).await,
                        None => false,
                    };
                    Ok((switched, alive))
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut all_switched = true;
        for result in results {
            let (switched, alive) = result?;
            checks += 1;
            dead += u64::from(!alive);
            all_switched &= switched;
        }
        if all_switched {
            break;
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "rotation of {} tokens not done after {timeout:?}",
                rotating.len()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let requests: Vec<Request> = env.sim.requests_after(seq).await?;
    let creates = requests
        .iter()
        .filter(|r| r.method == "POST" && r.template.as_deref() == Some("/api/v1/tokens") && r.ok())
        .count() as u64;
    Ok(Rotation {
        tokens: rotating.len(),
        seconds,
        creates,
        checks,
        dead,
    })
}
