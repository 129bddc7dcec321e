//! `make bench`: convergence time, grafana.com API economy, kube-apiserver writes and memory
//! of the release operator against a real control plane and the grafana.com simulator with
//! injected latency. Writes `results.json` and `README.md` to the output directory.

mod converge;
mod curve;
mod figures;
mod markdown;
mod measure;
mod plain_writes;
mod report;
mod rotation;
mod scenario;
mod sim;
mod targets;
mod timeline;
mod tokens;
mod wait;
mod workload;

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;

use crate::{
    report::Report,
    scenario::{Scenario, Settings},
};

/// The cost curve's plot, beside README.md.
pub const CURVE_PNG: &str = "curve.png";

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Benchmark of grafana-cloud-operator. Build the release operator and simulator first
/// (`make bench` does).
#[derive(Debug, Parser)]
struct Args {
    /// Runs of every scenario; the report quotes medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// A small smoke run: few resources, little noise, one run unless --runs is given.
    #[arg(long)]
    quick: bool,
    /// Render README.md beside an existing results.json instead of running anything.
    #[arg(long, value_name = "RESULTS_JSON")]
    render: Option<PathBuf>,
    /// Only the scenario of exactly this name, or else those whose name contains it.
    #[arg(long)]
    only: Option<String>,
    /// Where results.json and README.md go. Default: bench/results (full), target/bench-quick (quick).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    #[arg(long, default_value = "target/release/grafana-cloud-operator")]
    operator_bin: PathBuf,
    #[arg(long, default_value = "target/release/grafana-cloud-simulator")]
    simulator_bin: PathBuf,
    /// Organisations (one namespace and one token bucket each).
    #[arg(long, default_value_t = 10)]
    orgs: usize,
    /// Mean grafana.com latency per call, ms.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Latency jitter, ± ms.
    #[arg(long, default_value_t = 20)]
    jitter_ms: u64,
    /// The operator's --api-rate-limit (per org per second).
    #[arg(long, default_value_t = 20)]
    api_rate_limit: u32,
    /// The operator's --api-burst.
    #[arg(long, default_value_t = 20)]
    api_burst: u32,
    /// The operator's --concurrency (per kind). A key's reconcile holds its slot for one
    /// grafana.com call and four API server round trips: about 140 ms here once the burst is
    /// applied, up to 300 ms while it is. Spending a budget of 200 calls a second takes
    /// 200/s × 0.14 s = 28 slots at the least, and some 40 in the burst's first seconds.
    #[arg(long, default_value_t = 40)]
    concurrency: u16,
    /// The operator's --resync-interval, seconds.
    #[arg(long, default_value_t = 10)]
    resync_interval: u64,
    /// Write every grafana.com call of each key and stack burst to
    /// DIR/<scenario>-run<N>-burst.tsv, with its time since the burst started.
    #[arg(long, value_name = "DIR")]
    timeline: Option<PathBuf>,
    /// Resync intervals the steady-state phase lasts.
    #[arg(long, default_value_t = 3)]
    intervals: u32,
}

fn scenarios(quick: bool) -> Vec<Scenario> {
    let sc = |name: &str, keys, stacks, (secrets, configmaps), churn, orgs, curve| Scenario {
        name: name.into(),
        keys,
        stacks,
        noise_secrets: secrets,
        noise_configmaps: configmaps,
        churn,
        orgs,
        curve,
        resync: None,
        once: false,
    };
    if quick {
        return vec![
            sc("keys20-stacks5", 20, 5, (0, 0), true, None, true),
            sc(
                "keys20-stacks5-noise",
                20,
                5,
                (500, 500),
                false,
                None,
                false,
            ),
            sc(
                "keys200-stacks20-orgs20",
                200,
                20,
                (0, 0),
                false,
                Some(20),
                true,
            ),
        ];
    }
    vec![
        sc("keys100-stacks20", 100, 20, (0, 0), true, None, true),
        sc(
            "keys100-stacks20-secrets5k",
            100,
            20,
            (5_000, 0),
            false,
            None,
            false,
        ),
        sc("keys1000-stacks100", 1_000, 100, (0, 0), true, None, true),
        sc(
            "keys1000-stacks100-noise",
            1_000,
            100,
            (10_000, 10_000),
            false,
            None,
            false,
        ),
        // The curve's far point: ten times the work, over ten times the organisations, with
        // a resync that a 2-core control plane can serve (see `Scenario::resync`).
        // It runs once: a run takes about ten minutes.
        Scenario {
            resync: Some((120, 1)),
            once: true,
            ..sc(
                "keys10000-stacks1000-orgs100",
                10_000,
                1_000,
                (0, 0),
                false,
                Some(100),
                true,
            )
        },
    ]
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // reqwest shares the operator's rustls without a built-in provider: install ring's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // On Ctrl-C the benchmark future is dropped, which stops the control plane, the
    // simulator and the operator it started.
    let result = tokio::select! {
        result = bench(args) => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("benchmark failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(args: Args) -> Result<(), BoxError> {
    if let Some(path) = &args.render {
        let report: Report = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        if !report.curve.is_empty() {
            curve::plot(&report.curve, &path.with_file_name(CURVE_PNG))?;
        }
        return write_markdown(&report, &path.with_file_name("README.md"));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let runs = if args.quick && !std::env::args().any(|a| a.starts_with("--runs")) {
        1
    } else {
        args.runs.max(1)
    };
    let settings = Settings {
        orgs: args.orgs,
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        readiness_delay_ms: 1_000,
        api_rate_limit: args.api_rate_limit,
        api_burst: args.api_burst,
        concurrency: args.concurrency,
        resync_interval_s: if args.quick { 5 } else { args.resync_interval },
        steady_intervals: if args.quick { 2 } else { args.intervals },
        churn_fraction: 0.1,
        converge_timeout_s: 600,
        operator_bin: root.join(&args.operator_bin),
        simulator_bin: root.join(&args.simulator_bin),
        crds_dir: root.join("crds"),
        timeline_dir: args.timeline.clone(),
    };
    for bin in [&settings.operator_bin, &settings.simulator_bin] {
        if !bin.exists() {
            return Err(format!("{} is missing: run `make bench`", bin.display()).into());
        }
    }
    let mut scenarios = scenarios(args.quick);
    let mut token_scenarios = tokens::scenarios(args.quick);
    if let Some(only) = &args.only {
        let exact = scenarios.iter().map(|s| s.name.as_str());
        let exact = exact.chain(token_scenarios.iter().map(|s| s.name.as_str()));
        let exact = exact.into_iter().any(|name| name == only);
        let chosen = |name: &str| match exact {
            true => name == only,
            false => name.contains(only.as_str()),
        };
        scenarios.retain(|s| chosen(&s.name));
        token_scenarios.retain(|s| chosen(&s.name));
    }
    let mut all_runs = Vec::new();
    let mut token_runs = Vec::new();
    for run in 1..=runs {
        for scenario in scenarios.iter().filter(|s| run == 1 || !s.once) {
            all_runs.push(scenario::run(scenario, &settings, run).await?);
        }
        for scenario in &token_scenarios {
            token_runs.push(tokens::run(scenario, &settings, run).await?);
        }
    }
    let memory = memory_pairs(&scenarios)
        .into_iter()
        .filter_map(|(with, without)| report::compare(&all_runs, with, without))
        .collect();
    let medians = report::medians(&scenarios, &all_runs);
    let curve = curve::points(&scenarios, &medians, settings.orgs);
    let report = Report {
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        quick: args.quick,
        runs,
        machine: measure::machine(),
        medians,
        settings,
        scenarios,
        lower_bound_formula: figures::LOWER_BOUND_FORMULA.to_string(),
        memory,
        all_runs,
        token_medians: tokens::medians(&token_scenarios, &token_runs),
        token_scenarios,
        token_runs,
        curve,
    };
    let out_dir = args.out_dir.unwrap_or_else(|| {
        root.join(if args.quick {
            "target/bench-quick"
        } else {
            "bench/results"
        })
    });
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    if !report.curve.is_empty() {
        curve::plot(&report.curve, &out_dir.join(CURVE_PNG))?;
    }
    write_markdown(&report, &out_dir.join("README.md"))
}

fn write_markdown(report: &Report, path: &std::path::Path) -> Result<(), BoxError> {
    let markdown = format!(
        "{}{}{}{}",
        markdown::render(report),
        curve::markdown(&report.curve),
        tokens::markdown(&report.token_medians),
        targets::markdown(report)
    );
    std::fs::write(path, &markdown)?;
    println!("{markdown}");
    println!("results: {}", path.display());
    Ok(())
}

/// Scenarios that differ only by noise: (with noise, without).
fn memory_pairs(scenarios: &[Scenario]) -> Vec<(&Scenario, &Scenario)> {
    scenarios
        .iter()
        .filter(|s| s.noise_secrets + s.noise_configmaps > 0)
        .filter_map(|with| {
            scenarios
                .iter()
                .find(|w| {
                    w.noise_secrets + w.noise_configmaps == 0
                        && w.keys == with.keys
                        && w.stacks == with.stacks
                })
                .map(|without| (with, without))
        })
        .collect()
}
