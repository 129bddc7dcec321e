//! Medians over runs, `results.json` and the Markdown table.

use std::{collections::BTreeMap, fmt::Write as _};

use serde::Serialize;

use crate::{
    figures::LOWER_BOUND_FORMULA,
    measure::Machine,
    scenario::{Run, Scenario, Settings},
};

/// Medians of one phase of one scenario over all runs.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseMedians {
    pub scenario: String,
    pub phase: String,
    pub resources: usize,
    pub wall_seconds: f64,
    pub lower_bound_seconds: Option<f64>,
    pub ratio_to_lower_bound: Option<f64>,
    pub binding_term: Option<String>,
    pub lower_bound_calls_made_seconds: Option<f64>,
    pub ratio_to_lower_bound_calls_made: Option<f64>,
    pub calls_total: f64,
    pub calls_per_resource: f64,
    pub duplicate_creates_max: i64,
    pub operator_writes_per_resource: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    pub calls_per_org_per_interval: Option<f64>,
    pub list_calls_per_org_per_interval: Option<f64>,
    pub stack_lists_per_org_per_interval: Option<f64>,
    pub key_lists_per_org_per_interval: Option<f64>,
    pub other_calls: Option<f64>,
    pub readiness_checks: Option<f64>,
    pub poll_per_resource_calls_per_org_per_interval: Option<f64>,
    pub poll_per_resource_calls: Option<f64>,
    pub steady_calls: Option<f64>,
}

/// A memory comparison: peak RSS at the end of steady state with and without noise.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryComparison {
    pub with_noise: String,
    pub without_noise: String,
    pub noise: String,
    pub peak_rss_with_mib: f64,
    pub peak_rss_without_mib: f64,
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub quick: bool,
    pub runs: usize,
    pub machine: Machine,
    pub settings: Settings,
    pub scenarios: Vec<Scenario>,
    pub lower_bound_formula: &'static str,
    pub medians: Vec<PhaseMedians>,
    pub memory: Vec<MemoryComparison>,
    pub all_runs: Vec<Run>,
}

pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn opt_median(values: Vec<Option<f64>>) -> Option<f64> {
    let present: Vec<f64> = values.into_iter().flatten().collect();
    (!present.is_empty()).then(|| median(present))
}

pub fn medians(scenarios: &[Scenario], runs: &[Run]) -> Vec<PhaseMedians> {
    let mut out = Vec::new();
    for scenario in scenarios {
        let of: Vec<&Run> = runs
            .iter()
            .filter(|r| r.scenario == scenario.name)
            .collect();
        let names: Vec<String> = of
            .first()
            .map(|r| r.phases.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default();
        for name in names {
            let phases: Vec<_> = of
                .iter()
                .filter_map(|r| r.phases.iter().find(|p| p.name == name))
                .collect();
            let m = |f: &dyn Fn(&crate::figures::Phase) -> f64| {
                median(phases.iter().map(|p| f(p)).collect())
            };
            let o = |f: &dyn Fn(&crate::figures::Phase) -> Option<f64>| {
                opt_median(phases.iter().map(|p| f(p)).collect())
            };
            out.push(PhaseMedians {
                scenario: scenario.name.clone(),
                phase: name.clone(),
                resources: phases.first().map_or(0, |p| p.resources),
                wall_seconds: m(&|p| p.wall_seconds),
                lower_bound_seconds: o(&|p| p.lower_bound.as_ref().map(|b| b.bound_s)),
                ratio_to_lower_bound: o(&|p| p.ratio_to_lower_bound),
                binding_term: phases
                    .iter()
                    .find_map(|p| p.lower_bound.as_ref().map(|b| b.binding.clone())),
                lower_bound_calls_made_seconds: o(&|p| {
                    p.lower_bound_calls_made.as_ref().map(|b| b.bound_s)
                }),
                ratio_to_lower_bound_calls_made: o(&|p| p.ratio_to_lower_bound_calls_made),
                calls_total: m(&|p| p.calls_total as f64),
                calls_per_resource: m(&|p| p.calls_per_resource),
                duplicate_creates_max: phases
                    .iter()
                    .map(|p| p.duplicate_creates)
                    .max()
                    .unwrap_or(0),
                operator_writes_per_resource: m(&|p| p.operator_writes_per_resource),
                cpu_seconds: m(&|p| p.cpu_seconds),
                peak_rss_mib: m(&|p| p.operator.peak_rss_mib),
                calls_per_org_per_interval: o(&|p| {
                    p.steady.as_ref().map(|s| s.calls_per_org_per_interval)
                }),
                list_calls_per_org_per_interval: o(&|p| {
                    p.steady.as_ref().map(|s| s.list_calls_per_org_per_interval)
                }),
                stack_lists_per_org_per_interval: o(&|p| {
                    p.steady
                        .as_ref()
                        .map(|s| s.stack_lists_per_org_per_interval)
                }),
                key_lists_per_org_per_interval: o(&|p| {
                    p.steady.as_ref().map(|s| s.key_lists_per_org_per_interval)
                }),
                other_calls: o(&|p| p.steady.as_ref().map(|s| s.other_calls as f64)),
                readiness_checks: o(&|p| p.steady.as_ref().map(|s| s.readiness_checks as f64)),
                poll_per_resource_calls_per_org_per_interval: o(&|p| {
                    p.steady
                        .as_ref()
                        .map(|s| s.poll_per_resource_calls_per_org_per_interval)
                }),
                poll_per_resource_calls: o(&|p| {
                    p.steady.as_ref().map(|s| s.poll_per_resource_calls as f64)
                }),
                steady_calls: o(&|p| p.steady.as_ref().map(|_| p.calls_total as f64)),
            });
        }
    }
    out
}

/// Median peak RSS after steady state of `with` over that of `without`.
pub fn compare(runs: &[Run], with: &Scenario, without: &Scenario) -> Option<MemoryComparison> {
    let rss = |name: &str| {
        let v: Vec<f64> = runs
            .iter()
            .filter(|r| r.scenario == name)
            .map(|r| r.peak_rss_after_steady_mib)
            .collect();
        (!v.is_empty()).then(|| median(v))
    };
    let (a, b) = (rss(&with.name)?, rss(&without.name)?);
    Some(MemoryComparison {
        with_noise: with.name.clone(),
        without_noise: without.name.clone(),
        noise: format!(
            "{} unrelated Secrets + {} ConfigMaps",
            with.noise_secrets, with.noise_configmaps
        ),
        peak_rss_with_mib: a,
        peak_rss_without_mib: b,
        ratio: if b > 0.0 { a / b } else { 0.0 },
    })
}

fn f1(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

fn f2(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

pub fn markdown(report: &Report) -> String {
    let s = &report.settings;
    let m = &report.machine;
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(
        out,
        "Generated by `make bench` ({}) at {}. Medians of {} run(s); every run of every scenario \
         uses a fresh control plane, simulator and release operator. Raw figures of every run: \
         `results.json`.\n",
        if report.quick {
            "`--quick` smoke run"
        } else {
            "full run"
        },
        report.generated_at,
        report.runs
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(
        out,
        "{} CPUs ({}), {} MiB memory, {}; {}; kube-apiserver {}, etcd {}; operator {}.\n",
        m.nproc,
        m.cpu_model,
        m.memory_mib,
        m.kernel,
        m.rustc,
        m.kubernetes,
        m.etcd,
        m.operator_version
    );
    let _ = writeln!(out, "## Settings\n");
    let _ = writeln!(
        out,
        "- {} orgs, one namespace each; resources spread round-robin over them.\n\
         - grafana.com latency {} ms ± {} ms (uniform) per call; stacks become ready {} ms after creation.\n\
         - Operator: `--api-rate-limit {}` (per org per second), `--api-burst {}`, `--concurrency {}`, \
         `--resync-interval {}s`, `--log-level info`. The rate limit is 20/s per org: well under \
         grafana.com's limits, and with {} orgs the budget (not the latency) bounds a burst.\n\
         - Steady state: {} resync intervals. Churn: every {}th resource deleted (waiting for its finalizer) \
         and recreated; recreated stacks get fresh slugs.\n",
        s.orgs,
        s.latency_ms,
        s.jitter_ms,
        s.readiness_delay_ms,
        s.api_rate_limit,
        s.api_burst,
        s.concurrency,
        s.resync_interval_s,
        s.orgs,
        s.steady_intervals,
        (1.0 / s.churn_fraction).round()
    );
    let _ = writeln!(out, "Scenarios:\n");
    for sc in &report.scenarios {
        let _ = writeln!(
            out,
            "- `{}`: {} org keys (Viewer) + {} stacks, {} unrelated Secrets + {} ConfigMaps created first{}.",
            sc.name,
            sc.keys,
            sc.stacks,
            sc.noise_secrets,
            sc.noise_configmaps,
            if sc.churn { ", with churn" } else { "" }
        );
    }
    let _ = writeln!(out, "\n## Convergence, calls and writes (medians)\n");
    let _ = writeln!(
        out,
        "| scenario | phase | resources | wall s | lower bound s (term) | measured / bound | bound from calls made s | measured / that bound | grafana.com calls | calls / resource | duplicate creates | apiserver writes / resource | operator CPU s | operator peak RSS MiB |"
    );
    let _ = writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in &report.medians {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {} {} | {} | {} | {} | {:.0} | {:.2} | {} | {:.2} | {:.1} | {:.1} |",
            p.scenario,
            p.phase,
            p.resources,
            p.wall_seconds,
            f1(p.lower_bound_seconds),
            p.binding_term
                .as_deref()
                .map_or(String::new(), |t| format!("({t})")),
            f2(p.ratio_to_lower_bound),
            f1(p.lower_bound_calls_made_seconds),
            f2(p.ratio_to_lower_bound_calls_made),
            p.calls_total,
            p.calls_per_resource,
            p.duplicate_creates_max,
            p.operator_writes_per_resource,
            p.cpu_seconds,
            p.peak_rss_mib
        );
    }
    let _ = writeln!(out, "\n{LOWER_BOUND_FORMULA}\n");
    let _ = writeln!(
        out,
        "apiserver writes = `apiserver_request_total` for POST, PUT, PATCH, APPLY and DELETE on \
         grafanastacks, grafanacloudapikeys (and their status) and Secrets, scraped before and \
         after each phase, minus the benchmark's own creates and deletes; they include the \
         garbage collector's deletes of owned Secrets. Events are in `results.json`, not here.\n"
    );
    steady_table(&mut out, report);
    memory_table(&mut out, report);
    endpoints_table(&mut out, report);
    out
}

fn steady_table(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Steady state against poll-per-resource (medians)\n");
    let _ = writeln!(
        out,
        "The poll-per-resource design (Crossplane's provider) GETs every resource every poll \
         interval: resources × intervals calls, computed on paper for the same workload and interval. \
         Ours are counted from the simulator's log over a window of exactly K intervals that \
         starts 1 s after convergence; resyncs are jittered up to 10% early, so a window may \
         hold one list more than K for some orgs.\n"
    );
    let _ = writeln!(
        out,
        "| scenario | resources | calls in window | per org per interval | stack lists per org per interval | key lists per org per interval | readiness checks | other calls | poll-per-resource calls | poll-per-resource per org per interval | ours / poll-per-resource |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for p in report.medians.iter().filter(|p| p.phase == "steady") {
        let ratio = match (p.steady_calls, p.poll_per_resource_calls) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.4}", a / b),
            _ => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.scenario,
            p.resources,
            f1(p.steady_calls),
            f2(p.calls_per_org_per_interval),
            f2(p.stack_lists_per_org_per_interval),
            f2(p.key_lists_per_org_per_interval),
            f1(p.readiness_checks),
            f1(p.other_calls),
            f1(p.poll_per_resource_calls),
            f1(p.poll_per_resource_calls_per_org_per_interval),
            ratio
        );
    }
    let _ = writeln!(out);
}

fn memory_table(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Memory: unrelated objects in the cluster\n");
    let _ = writeln!(
        out,
        "Median peak RSS (VmHWM) of the operator at the end of steady state, same workload with and without noise.\n"
    );
    let _ = writeln!(
        out,
        "| with | without | noise | peak RSS with MiB | without MiB | ratio |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|");
    for c in &report.memory {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.1} | {:.3} |",
            c.with_noise,
            c.without_noise,
            c.noise,
            c.peak_rss_with_mib,
            c.peak_rss_without_mib,
            c.ratio
        );
    }
    let _ = writeln!(out);
}

fn endpoints_table(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## grafana.com calls by endpoint (median over runs)\n");
    let mut rows: BTreeMap<(String, String), BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for run in &report.all_runs {
        for p in &run.phases {
            let entry = rows
                .entry((run.scenario.clone(), p.name.clone()))
                .or_default();
            for (endpoint, n) in &p.calls_by_endpoint {
                entry.entry(endpoint.clone()).or_default().push(*n as f64);
            }
        }
    }
    let _ = writeln!(out, "| scenario | phase | endpoint | calls |");
    let _ = writeln!(out, "|---|---|---|---:|");
    for ((scenario, phase), endpoints) in rows {
        for (endpoint, mut counts) in endpoints {
            // Runs without a call to this endpoint count as zero.
            while counts.len() < report.runs {
                counts.push(0.0);
            }
            let _ = writeln!(
                out,
                "| {scenario} | {phase} | `{endpoint}` | {:.0} |",
                median(counts)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
