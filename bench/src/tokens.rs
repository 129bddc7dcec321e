//! The access-policy token scenario: policies on org realms, then tokens over them, spread
//! round-robin over the orgs. The burst measures one create per token; steady state
//! measures the lists per org and resync interval that keep every token checked; then every
//! tenth token rotates (see `rotation`).

use std::{
    collections::HashSet,
    fmt::Write as _,
    time::{Duration, Instant},
};

use futures::{StreamExt, TryStreamExt, stream};
use grafana_cloud_operator::crd::{GrafanaCloudAccessPolicy, GrafanaCloudAccessPolicyToken};
use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Condition};
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    BoxError, figures,
    measure::{self, ProcStats, median},
    rotation::{self, Rotation},
    scenario::{Env, Settings},
    sim::Request,
    wait::ready,
    workload::{CREATE_CONCURRENCY, CREDENTIALS, namespace},
};

const TOKENS: &str = "/api/v1/tokens";
const POLICIES: &str = "/api/v1/accesspolicies";

/// What the scenario applies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenScenario {
    pub name: String,
    pub policies: usize,
    pub tokens: usize,
}

/// Everything measured in one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRun {
    pub scenario: String,
    pub run: usize,
    /// From applying the policies to every policy Ready.
    pub policies_seconds: f64,
    /// From applying the tokens (policies Ready) to every token Ready with its Secret.
    pub tokens_seconds: f64,
    /// grafana.com calls from the first policy to the last token's Secret.
    pub burst_calls: u64,
    /// Successful `POST /v1/accesspolicies` and `POST /v1/tokens`.
    pub policy_creates: u64,
    pub token_creates: u64,
    /// kube-apiserver writes of the operator during the burst, per resource.
    pub apiserver_writes_per_resource: f64,
    /// The operator's writes per token during the burst: the token's own (finalizer, status)
    /// and its Secret's. Events are not counted.
    #[serde(default)]
    pub writes_per_token: f64,
    /// Steady state: resync intervals and orgs it covers, and the calls in it.
    pub intervals: f64,
    pub orgs: usize,
    pub steady_calls: u64,
    /// Calls that change something at grafana.com (none is expected).
    pub steady_writes: u64,
    /// `GET /v1/tokens` and `GET /v1/accesspolicies` in the window.
    pub token_lists: u64,
    pub policy_lists: u64,
    /// Token lists (all orgs together) in each resync interval of the window, in order.
    pub token_lists_by_interval: Vec<u64>,
    /// The closest two token lists or two policy lists of one org, in intervals.
    #[serde(default)]
    pub closest_lists_intervals: Option<f64>,
    pub peak_rss_mib: f64,
    pub cpu_seconds: f64,
    /// Every tenth token rotated after steady state.
    #[serde(default)]
    pub rotation: Rotation,
}

pub fn scenarios(quick: bool) -> Vec<TokenScenario> {
    let sc = |policies: usize, tokens: usize| TokenScenario {
        name: format!("tokens{tokens}-policies{policies}"),
        policies,
        tokens,
    };
    if quick {
        vec![sc(10, 100)]
    } else {
        vec![sc(100, 1_000)]
    }
}

fn meta(name: &str) -> serde_json::Value {
    json!({"name": name})
}

async fn create_all<K>(client: &Client, objects: Vec<(String, K)>) -> Result<(), BoxError>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    stream::iter(objects)
        .map(|(ns, obj)| {
            let api: Api<K> = Api::namespaced(client.clone(), &ns);
            async move {
                api.create(&PostParams::default(), &obj).await?;
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Policy `i` in org `i % orgs`: an org realm in the simulator's region.
fn policy(i: usize, orgs: usize) -> Result<(String, GrafanaCloudAccessPolicy), BoxError> {
    let obj = serde_json::from_value(json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1",
        "kind": "GrafanaCloudAccessPolicy",
        "metadata": meta(&format!("policy-{i}")),
        "spec": {"region": "us", "realms": [{"type": "org"}], "scopes": ["metrics:write"],
                 "credentials": {"secretName": CREDENTIALS}},
    }))?;
    Ok((namespace(i % orgs), obj))
}

/// Token `j` of policy `j % policies`, in that policy's namespace.
fn token(
    j: usize,
    policies: usize,
    orgs: usize,
) -> Result<(String, GrafanaCloudAccessPolicyToken), BoxError> {
    let policy = j % policies;
    let mut spec = json!({"policyRef": format!("policy-{policy}")});
    if let (Some(extra), Some(fields)) = (rotation::spec_extra(j), spec.as_object_mut()) {
        fields.extend(extra.as_object().cloned().unwrap_or_default());
    }
    let obj = serde_json::from_value(json!({
        "apiVersion": "grafanacloud.operator.dev/v1alpha1",
        "kind": "GrafanaCloudAccessPolicyToken",
        "metadata": meta(&format!("token-{j}")),
        "spec": spec,
    }))?;
    Ok((namespace(policy % orgs), obj))
}

/// Polls until `count` resources of `K` are Ready (and, for tokens, hold a token in their
/// Secret); fails after `timeout`.
async fn wait_ready<K>(
    client: &Client,
    count: usize,
    orgs: usize,
    conditions: impl Fn(&K) -> Option<&Vec<Condition>>,
    secrets: bool,
    timeout: Duration,
) -> Result<(), BoxError>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let started = Instant::now();
    loop {
        let listed = Api::<K>::all(client.clone())
            .list(&ListParams::default())
            .await?;
        let done: HashSet<(String, String)> = listed
            .items
            .iter()
            .filter(|o| conditions(o).is_some_and(|c| ready(c)))
            .map(|o| {
                let m = o.meta();
                (
                    m.namespace.clone().unwrap_or_default(),
                    m.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let mut missing = count.saturating_sub(done.len());
        if missing == 0 && secrets {
            let mut held = 0;
            for i in 0..orgs {
                let ns = namespace(i);
                for s in Api::<Secret>::namespaced(client.clone(), &ns)
                    .list(&ListParams::default())
                    .await?
                    .items
                {
                    let name = s.metadata.name.clone().unwrap_or_default();
                    let has = s.data.as_ref().and_then(|d| d.get("token"));
                    if has.is_some_and(|t| !t.0.is_empty()) && done.contains(&(ns.clone(), name)) {
                        held += 1;
                    }
                }
            }
            missing = count.saturating_sub(held);
        }
        if missing == 0 {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!("{missing} of {count} not converged after {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `GET template` calls in each of `slots` intervals of `interval_s` from `start`.
fn by_interval(
    requests: &[Request],
    template: &str,
    start: chrono::DateTime<chrono::Utc>,
    interval_s: f64,
    slots: usize,
) -> Vec<u64> {
    let mut counts = vec![0u64; slots.max(1)];
    for r in requests {
        if r.method != "GET" || r.template.as_deref() != Some(template) {
            continue;
        }
        let slot = (r.seconds_since(start) / interval_s).floor();
        if slot >= 0.0 {
            let last = counts.len() - 1;
            counts[(slot as usize).min(last)] += 1;
        }
    }
    counts
}

fn calls(requests: &[Request], method: &str, template: &str, ok_only: bool) -> u64 {
    requests
        .iter()
        .filter(|r| r.method == method && r.template.as_deref() == Some(template))
        .filter(|r| !ok_only || r.ok())
        .count() as u64
}

pub async fn run(
    scenario: &TokenScenario,
    settings: &Settings,
    run: usize,
) -> Result<TokenRun, BoxError> {
    let label = format!("[{} run {run}]", scenario.name);
    let (env, _) = Env::start(settings, &label, (0, 0)).await?;
    let result = phases(&env, scenario, settings, &label).await;
    env.stop(result.is_err()).await;
    result.map(|mut r| {
        r.run = run;
        r
    })
}

async fn phases(
    env: &Env,
    scenario: &TokenScenario,
    settings: &Settings,
    label: &str,
) -> Result<TokenRun, BoxError> {
    let orgs = settings.orgs;
    let timeout = Duration::from_secs(settings.converge_timeout_s);
    let seq = env.sim.last_seq().await?;
    let writes_before = measure::apiserver_writes(&env.client).await?;
    let cpu_before = env.stats()?.cpu_seconds;

    let started = Instant::now();
    let policies = (0..scenario.policies)
        .map(|i| policy(i, orgs))
        .collect::<Result<Vec<_>, _>>()?;
    create_all(&env.client, policies).await?;
    wait_ready::<GrafanaCloudAccessPolicy>(
        &env.client,
        scenario.policies,
        orgs,
        |p| p.status.as_ref().map(|s| &s.conditions),
        false,
        timeout,
    )
    .await?;
    let policies_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let tokens = (0..scenario.tokens)
        .map(|j| token(j, scenario.policies, orgs))
        .collect::<Result<Vec<_>, _>>()?;
    create_all(&env.client, tokens).await?;
    wait_ready::<GrafanaCloudAccessPolicyToken>(
        &env.client,
        scenario.tokens,
        orgs,
        |t| t.status.as_ref().map(|s| &s.conditions),
        true,
        timeout,
    )
    .await?;
    let tokens_seconds = started.elapsed().as_secs_f64();
    let burst = env.sim.requests_after(seq).await?;
    let writes = measure::diff(
        &writes_before,
        &measure::apiserver_writes(&env.client).await?,
    );
    let resources = (scenario.policies + scenario.tokens) as f64;
    // The benchmark's own creates are not the operator's writes.
    let operator_writes = writes.values().sum::<f64>() - resources;
    eprintln!(
        "{label} burst: {} policies in {policies_seconds:.1}s, {} tokens in {tokens_seconds:.1}s",
        scenario.policies, scenario.tokens
    );

    tokio::time::sleep(Duration::from_secs(1)).await;
    let seq = env.sim.last_seq().await?;
    let window_start = chrono::Utc::now();
    let intervals = f64::from(settings.steady_intervals);
    tokio::time::sleep(Duration::from_secs(
        settings.resync_interval_s * u64::from(settings.steady_intervals),
    ))
    .await;
    let steady = env.sim.requests_after(seq).await?;
    let stats: ProcStats = env.stats()?;
    eprintln!("{label} steady: {} calls", steady.len());
    let rotation = rotation::run(env, scenario.tokens, scenario.policies, orgs, timeout).await?;
    eprintln!(
        "{label} rotation: {} tokens in {:.1}s, {} creates, {} of {} checks found a dead token",
        rotation.tokens, rotation.seconds, rotation.creates, rotation.dead, rotation.checks
    );
    Ok(TokenRun {
        scenario: scenario.name.clone(),
        run: 0,
        policies_seconds,
        tokens_seconds,
        burst_calls: burst.len() as u64,
        policy_creates: calls(&burst, "POST", POLICIES, true),
        token_creates: calls(&burst, "POST", TOKENS, true),
        apiserver_writes_per_resource: operator_writes.max(0.0) / resources,
        writes_per_token: measure::creation_writes(&writes, "grafanacloudaccesspolicytokens")
            / scenario.tokens.max(1) as f64,
        intervals,
        orgs,
        steady_calls: steady.len() as u64,
        steady_writes: steady.iter().filter(|r| r.method != "GET").count() as u64,
        token_lists: calls(&steady, "GET", TOKENS, false),
        policy_lists: calls(&steady, "GET", POLICIES, false),
        closest_lists_intervals: figures::closest_lists(
            &steady,
            &[TOKENS, POLICIES],
            settings.resync_interval_s as f64,
        ),
        token_lists_by_interval: by_interval(
            &steady,
            TOKENS,
            window_start,
            settings.resync_interval_s as f64,
            settings.steady_intervals as usize,
        ),
        peak_rss_mib: stats.peak_rss_mib,
        cpu_seconds: stats.cpu_seconds - cpu_before,
        rotation,
    })
}

/// Medians over the runs of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenMedians {
    pub scenario: String,
    pub policies: usize,
    pub tokens: usize,
    pub policies_seconds: f64,
    pub tokens_seconds: f64,
    pub token_creates_per_token: f64,
    pub policy_creates_per_policy: f64,
    pub burst_calls_per_token: f64,
    pub apiserver_writes_per_resource: f64,
    #[serde(default)]
    pub writes_per_token: f64,
    pub steady_calls_per_org_per_interval: f64,
    pub token_lists_per_org_per_interval: f64,
    /// The same from the second interval on: the first may hold the lists of passes that
    /// were due just before the window opened (resyncs are jittered up to 10% early).
    pub later_token_lists_per_org_per_interval: f64,
    pub policy_lists_per_org_per_interval: f64,
    /// The closest two lists of one org and kind, in intervals, in the worst run.
    #[serde(default)]
    pub closest_lists_intervals: Option<f64>,
    pub steady_writes: f64,
    pub peak_rss_mib: f64,
    /// Rotation of every tenth token: tokens, seconds, creates per rotated token, and dead
    /// tokens seen in a Secret (worst run).
    #[serde(default)]
    pub rotated_tokens: usize,
    #[serde(default)]
    pub rotation_seconds: f64,
    #[serde(default)]
    pub rotation_creates_per_token: f64,
    #[serde(default)]
    pub rotation_dead_max: u64,
}

pub fn medians(scenarios: &[TokenScenario], runs: &[TokenRun]) -> Vec<TokenMedians> {
    scenarios
        .iter()
        .map(|s| {
            let of: Vec<&TokenRun> = runs.iter().filter(|r| r.scenario == s.name).collect();
            let m = |f: &dyn Fn(&TokenRun) -> f64| median(of.iter().map(|r| f(r)).collect());
            let per_org_interval =
                |r: &TokenRun, n: u64| n as f64 / (r.orgs.max(1) as f64 * r.intervals.max(1.0));
            TokenMedians {
                scenario: s.name.clone(),
                policies: s.policies,
                tokens: s.tokens,
                policies_seconds: m(&|r| r.policies_seconds),
                tokens_seconds: m(&|r| r.tokens_seconds),
                token_creates_per_token: m(&|r| r.token_creates as f64 / s.tokens.max(1) as f64),
                policy_creates_per_policy: m(&|r| {
                    r.policy_creates as f64 / s.policies.max(1) as f64
                }),
                burst_calls_per_token: m(&|r| r.burst_calls as f64 / s.tokens.max(1) as f64),
                apiserver_writes_per_resource: m(&|r| r.apiserver_writes_per_resource),
                writes_per_token: m(&|r| r.writes_per_token),
                steady_calls_per_org_per_interval: m(&|r| per_org_interval(r, r.steady_calls)),
                token_lists_per_org_per_interval: m(&|r| per_org_interval(r, r.token_lists)),
                later_token_lists_per_org_per_interval: m(&|r| {
                    let later = r.token_lists_by_interval.get(1..).unwrap_or_default();
                    later.iter().sum::<u64>() as f64 / (r.orgs.max(1) * later.len().max(1)) as f64
                }),
                policy_lists_per_org_per_interval: m(&|r| per_org_interval(r, r.policy_lists)),
                closest_lists_intervals: of
                    .iter()
                    .filter_map(|r| r.closest_lists_intervals)
                    .reduce(f64::min),
                steady_writes: m(&|r| r.steady_writes as f64),
                peak_rss_mib: m(&|r| r.peak_rss_mib),
                rotated_tokens: of.first().map_or(0, |r| r.rotation.tokens),
                rotation_seconds: m(&|r| r.rotation.seconds),
                rotation_creates_per_token: m(&|r| {
                    r.rotation.creates as f64 / r.rotation.tokens.max(1) as f64
                }),
                rotation_dead_max: of.iter().map(|r| r.rotation.dead).max().unwrap_or(0),
            }
        })
        .collect()
}

/// The report's section on access-policy tokens.
pub fn markdown(medians: &[TokenMedians]) -> String {
    let mut out = String::new();
    if medians.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n## Access-policy tokens\n");
    let _ = writeln!(
        out,
        "Policies with an org realm are applied first, then the tokens over them \
         (round-robin), each in its policy's namespace. Steady state lasts the same resync \
         intervals as above; the ideal is one token list and one policy list per org and \
         interval, and no write.\n"
    );
    let _ = writeln!(
        out,
        "| scenario | policies Ready | tokens Ready | token creates / token | policy creates / policy | calls / token (burst) | apiserver writes / resource | steady calls / org / interval | token lists / org / interval (from the second) | policy lists / org / interval | steady writes | peak RSS |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for m in medians {
        let _ = writeln!(
            out,
            "| {} | {:.1} s | {:.1} s | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} ({:.2}) | {:.2} | {:.0} | {:.1} MiB |",
            m.scenario,
            m.policies_seconds,
            m.tokens_seconds,
            m.token_creates_per_token,
            m.policy_creates_per_policy,
            m.burst_calls_per_token,
            m.apiserver_writes_per_resource,
            m.steady_calls_per_org_per_interval,
            m.token_lists_per_org_per_interval,
            m.later_token_lists_per_org_per_interval,
            m.policy_lists_per_org_per_interval,
            m.steady_writes,
            m.peak_rss_mib
        );
    }
    let _ = writeln!(
        out,
        "\nRotation: after steady state, every tenth token is made due at once; each Secret's token is tried against grafana.com every 250 ms until all hold their new one.\n"
    );
    let _ = writeln!(
        out,
        "| scenario | tokens rotated | all switched | creates / rotated token | dead tokens seen in a Secret (worst run) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for m in medians {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} s | {:.2} | {} |",
            m.scenario,
            m.rotated_tokens,
            m.rotation_seconds,
            m.rotation_creates_per_token,
            m.rotation_dead_max
        );
    }
    out
}
