//! One scenario run: a fresh control plane, simulator and release operator; noise; burst;
//! steady state; churn.

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use testenv::{ChildProcess, ControlPlane};

use crate::{
    BoxError,
    converge::Convergence,
    figures::{Budget, Calls, Phase, PhaseInput, Steady},
    measure::{self, ProcStats, WriteCounts},
    plain_writes,
    sim::{Request, Sim, SimOptions},
    timeline, wait,
    workload::{self, Item},
};

/// What a scenario applies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub keys: usize,
    pub stacks: usize,
    pub noise_secrets: usize,
    pub noise_configmaps: usize,
    pub churn: bool,
    /// Organisations, where not the settings' (one namespace and one token bucket each).
    #[serde(default)]
    pub orgs: Option<usize>,
    /// A point of the cost curve.
    #[serde(default)]
    pub curve: bool,
    /// The operator's resync interval and the intervals steady state lasts, where not the
    /// settings'. A steady pass reads two objects from kube-apiserver, so the interval has to
    /// grow with the resources: at 11,000 every 10 s would ask for more reads than a 2-core
    /// control plane serves.
    #[serde(default)]
    pub resync: Option<(u64, u32)>,
    /// Run once, whatever `--runs` says: its medians are of one run.
    #[serde(default)]
    pub once: bool,
}

/// Settings shared by every scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub orgs: usize,
    pub latency_ms: u64,
    pub jitter_ms: u64,
    pub readiness_delay_ms: u64,
    pub api_rate_limit: u32,
    pub api_burst: u32,
    pub concurrency: u16,
    pub resync_interval_s: u64,
    pub steady_intervals: u32,
    pub churn_fraction: f64,
    pub converge_timeout_s: u64,
    #[serde(skip)]
    pub operator_bin: PathBuf,
    #[serde(skip)]
    pub simulator_bin: PathBuf,
    #[serde(skip)]
    pub crds_dir: PathBuf,
    /// Where `--timeline` writes each burst's calls, if asked.
    #[serde(skip)]
    pub timeline_dir: Option<PathBuf>,
}

impl Settings {
    pub fn budget(&self) -> Budget {
        Budget {
            rate_per_org: f64::from(self.api_rate_limit),
            burst: f64::from(self.api_burst),
            latency_s: self.latency_ms as f64 / 1000.0,
            concurrency: f64::from(self.concurrency),
            readiness_delay_s: self.readiness_delay_ms as f64 / 1000.0,
        }
    }
}

/// Everything measured in one run of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub scenario: String,
    pub run: usize,
    pub noise_create_seconds: f64,
    /// The operator's figures right after it started and listed the cluster.
    pub operator_started: ProcStats,
    pub phases: Vec<Phase>,
    /// Peak RSS at the end of steady state: the figure the noise comparisons use.
    pub peak_rss_after_steady_mib: f64,
    pub operator_final: ProcStats,
    /// Org keys and live stacks at grafana.com at the end, against the resources applied.
    pub remote_keys: u64,
    pub remote_stacks: u64,
    pub expected_keys: usize,
    pub expected_stacks: usize,
}

/// A fresh control plane, simulator and release operator.
pub(crate) struct Env {
    pub cp: ControlPlane,
    pub client: kube::Client,
    pub sim: Sim,
    pub operator: ChildProcess,
    clk_tck: f64,
}

impl Env {
    /// Starts everything, with the orgs' namespaces and `noise` unrelated objects (Secrets,
    /// ConfigMaps) created before the operator; returns how long the noise took.
    pub async fn start(
        settings: &Settings,
        label: &str,
        noise: (usize, usize),
    ) -> Result<(Self, Duration), BoxError> {
        let cp = ControlPlane::start().await?;
        cp.apply_crds(&settings.crds_dir).await?;
        let client = cp.client();
        let orgs: Vec<(String, String)> = (0..settings.orgs).map(workload::org).collect();
        let sim_options = SimOptions {
            orgs,
            latency: Duration::from_millis(settings.latency_ms),
            jitter: Duration::from_millis(settings.jitter_ms),
            readiness_delay: Duration::from_millis(settings.readiness_delay_ms),
        };
        let sim = Sim::start(
            &settings.simulator_bin,
            &cp.logs_dir().join("simulator.log"),
            &sim_options,
        )
        .await?;
        workload::setup_orgs(&client, settings.orgs).await?;
        let took = workload::create_noise(&client, noise.0, noise.1).await?;
        eprintln!(
            "{label} noise: {} Secrets, {} ConfigMaps in {:.1}s",
            noise.0,
            noise.1,
            took.as_secs_f64()
        );
        let operator = start_operator(&cp, &sim, settings).await?;
        let env = Self {
            cp,
            client,
            sim,
            operator,
            clk_tck: measure::clk_tck(),
        };
        Ok((env, took))
    }

    /// Stops the operator, the simulator and the control plane; with `failed`, prints the
    /// operator's last log lines first.
    pub async fn stop(self, failed: bool) {
        let Self {
            cp,
            sim,
            mut operator,
            ..
        } = self;
        if failed {
            eprintln!("operator log tail:\n{}", operator.log_tail(30));
        }
        let _ = operator.terminate(Duration::from_secs(10)).await;
        sim.stop().await;
        drop(cp);
    }

    pub fn stats(&self) -> Result<ProcStats, BoxError> {
        measure::proc_stats(self.operator.id(), self.clk_tck)
    }

    /// Counters to diff a phase against.
    async fn mark(&self) -> Result<(u64, WriteCounts, ProcStats), BoxError> {
        Ok((
            self.sim.last_seq().await?,
            measure::apiserver_writes(&self.client).await?,
            self.stats()?,
        ))
    }
}

pub async fn run(scenario: &Scenario, settings: &Settings, run: usize) -> Result<Run, BoxError> {
    let (resync_interval_s, steady_intervals) = scenario
        .resync
        .unwrap_or((settings.resync_interval_s, settings.steady_intervals));
    let settings = &Settings {
        orgs: scenario.orgs.unwrap_or(settings.orgs),
        resync_interval_s,
        steady_intervals,
        ..settings.clone()
    };
    let label = format!("[{} run {run}]", scenario.name);
    let noise = (scenario.noise_secrets, scenario.noise_configmaps);
    let (env, noise) = Env::start(settings, &label, noise).await?;
    let result = phases(&env, scenario, settings, run, noise).await;
    env.stop(result.is_err()).await;
    result
}

async fn start_operator(
    cp: &ControlPlane,
    sim: &Sim,
    settings: &Settings,
) -> Result<ChildProcess, BoxError> {
    let mut cmd = Command::new(&settings.operator_bin);
    cmd.args(["run", "--grafana-api-url", &sim.base_url])
        .args([
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--resync-interval",
            &format!("{}s", settings.resync_interval_s),
        ])
        .args(["--api-rate-limit", &settings.api_rate_limit.to_string()])
        .args(["--api-burst", &settings.api_burst.to_string()])
        .args(["--concurrency", &settings.concurrency.to_string()])
        .args(["--log-format", "json", "--log-level", "info"])
        .env("KUBECONFIG", cp.kubeconfig_path());
    let mut operator = ChildProcess::spawn(cmd, cp.logs_dir().join("operator.log"))?;
    operator
        .wait_for_log("starting", Duration::from_secs(30))
        .await?;
    // Let the controllers' initial lists and watches settle before the clock starts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(operator)
}

async fn phases(
    env: &Env,
    scenario: &Scenario,
    settings: &Settings,
    run: usize,
    noise: Duration,
) -> Result<Run, BoxError> {
    let label = format!("[{} run {run}]", scenario.name);
    let budget = settings.budget();
    let timeout = Duration::from_secs(settings.converge_timeout_s);
    let items = workload::items(scenario.keys, scenario.stacks, settings.orgs);
    let operator_started = env.stats()?;
    let mut phases = Vec::new();

    // 1. Burst: everything at once.
    let mut convergence = Convergence::start(&env.client).await?;
    let mark = env.mark().await?;
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    workload::apply(&env.client, &items, 0).await?;
    let applied = started.elapsed();
    let wall = convergence.converged(&items, started, timeout).await?;
    let burst = finish(
        env,
        &mark,
        &budget,
        PhaseInput {
            name: "burst",
            resources: items.len(),
            expected_creates: items.len() as u64,
            creates_stacks: scenario.stacks > 0,
            calls_needed: workload::calls_needed(&items, false),
            wall_seconds: wall.as_secs_f64(),
            writes: WriteCounts::new(),
            own_writes: items.len() as f64,
            writes_needed: plain_writes::needed(&items, false),
            cpu_seconds: 0.0,
            operator: ProcStats::default(),
        },
    )
    .await?;
    // After the phase's figures are taken, so that writing it costs them nothing.
    if let Some(dir) = &settings.timeline_dir {
        let requests = env.sim.requests_after(mark.0).await?;
        let phase = (scenario.name.as_str(), run, "burst");
        timeline::write(dir, phase, started_at, (applied, wall), &requests)?;
    }
    eprintln!(
        "{label} burst: {} resources in {:.1}s, {} calls",
        items.len(),
        burst.wall_seconds,
        burst.calls_total
    );
    phases.push(burst);

    // 2. Steady state: K resync intervals with nothing to do.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mark = env.mark().await?;
    let window_start = chrono::Utc::now();
    let window =
        Duration::from_secs(settings.resync_interval_s * u64::from(settings.steady_intervals));
    tokio::time::sleep(window).await;
    let mut steady = finish(
        env,
        &mark,
        &budget,
        PhaseInput {
            name: "steady",
            resources: items.len(),
            expected_creates: 0,
            creates_stacks: false,
            calls_needed: Calls::default(),
            wall_seconds: window.as_secs_f64(),
            writes: WriteCounts::new(),
            own_writes: 0.0,
            writes_needed: 0,
            cpu_seconds: 0.0,
            operator: ProcStats::default(),
        },
    )
    .await?;
    let requests = env.sim.requests_after(mark.0).await?;
    steady.steady = Some(Steady::of(
        &requests,
        items.len(),
        settings.orgs,
        (
            scenario.stacks.min(settings.orgs),
            scenario.keys.min(settings.orgs),
        ),
        (window_start, settings.resync_interval_s as f64),
        f64::from(settings.steady_intervals),
    ));
    eprintln!(
        "{label} steady: {} calls in {} intervals",
        steady.calls_total, settings.steady_intervals
    );
    let peak_rss_after_steady_mib = env.stats()?.peak_rss_mib;
    phases.push(steady);

    // 3. Churn: delete every tenth resource, wait for its finalizer, recreate it.
    if scenario.churn {
        let step = (1.0 / settings.churn_fraction).round().max(1.0) as usize;
        let churned: Vec<Item> = items.iter().step_by(step).cloned().collect();
        let mark = env.mark().await?;
        let started = Instant::now();
        workload::delete(&env.client, &churned).await?;
        wait::wait_gone(&env.client, &churned, started, timeout).await?;
        convergence.gone(&churned, started, timeout).await?;
        workload::apply(&env.client, &churned, 1).await?;
        let wall = convergence.converged(&items, started, timeout).await?;
        let phase = finish(
            env,
            &mark,
            &budget,
            PhaseInput {
                name: "churn",
                resources: churned.len(),
                expected_creates: churned.len() as u64,
                creates_stacks: churned.iter().any(|i| i.stack),
                calls_needed: workload::calls_needed(&churned, true),
                wall_seconds: wall.as_secs_f64(),
                writes: WriteCounts::new(),
                own_writes: 2.0 * churned.len() as f64,
                writes_needed: plain_writes::needed(&churned, true),
                cpu_seconds: 0.0,
                operator: ProcStats::default(),
            },
        )
        .await?;
        eprintln!(
            "{label} churn: {} resources in {:.1}s, {} calls",
            churned.len(),
            phase.wall_seconds,
            phase.calls_total
        );
        phases.push(phase);
    }

    let (remote_keys, remote_stacks) = env.sim.remote_objects().await?;

    // 4. The write term of the bound, measured last so that it shares the apiserver with
    // nothing: as many plain writes as the burst needs, at the operator's concurrency.
    let kinds = 1 + usize::from(scenario.stacks > 0 && scenario.keys > 0);
    let concurrency = usize::from(settings.concurrency) * kinds;
    let plain = plain_writes::measure(
        &env.client,
        plain_writes::needed(&items, false),
        concurrency,
    )
    .await?;
    eprintln!(
        "{label} plain writes: {} in {:.1}s at concurrency {concurrency}",
        plain.writes, plain.seconds
    );
    for phase in &mut phases {
        phase.add_write_term(plain.seconds_for(phase.writes_needed));
    }
    Ok(Run {
        scenario: scenario.name.clone(),
        run,
        noise_create_seconds: noise.as_secs_f64(),
        operator_started,
        phases,
        peak_rss_after_steady_mib,
        operator_final: env.stats()?,
        remote_keys: remote_keys.values().sum(),
        remote_stacks,
        expected_keys: items.iter().filter(|i| !i.stack).count(),
        expected_stacks: items.iter().filter(|i| i.stack).count(),
    })
}

/// Closes a phase opened at `mark`: calls since, apiserver writes since, CPU since.
async fn finish(
    env: &Env,
    mark: &(u64, WriteCounts, ProcStats),
    budget: &Budget,
    mut input: PhaseInput<'_>,
) -> Result<Phase, BoxError> {
    let requests: Vec<Request> = env.sim.requests_after(mark.0).await?;
    let writes = measure::apiserver_writes(&env.client).await?;
    let now = env.stats()?;
    input.writes = measure::diff(&mark.1, &writes);
    input.cpu_seconds = now.cpu_seconds - mark.2.cpu_seconds;
    input.operator = now;
    Ok(Phase::new(input, &requests, budget))
}
