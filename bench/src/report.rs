//! Medians over runs and memory comparisons: the content of `results.json`.

use serde::{Deserialize, Serialize};

use crate::{
    measure::{Machine, median},
    scenario::{Run, Scenario, Settings},
    tokens::{TokenMedians, TokenRun, TokenScenario},
};

/// Medians of one phase of one scenario over all runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhaseMedians {
    pub scenario: String,
    pub phase: String,
    pub resources: usize,
    pub wall_seconds: f64,
    pub lower_bound_seconds: Option<f64>,
    pub ratio_to_lower_bound: Option<f64>,
    pub binding_term: Option<String>,
    /// The bound and ratio without the plain-client write term, as earlier results had them.
    #[serde(default)]
    pub lower_bound_without_writes_seconds: Option<f64>,
    #[serde(default)]
    pub ratio_to_lower_bound_without_writes: Option<f64>,
    /// The plain-client write term alone.
    #[serde(default)]
    pub writes_term_seconds: Option<f64>,
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
    /// Median over runs of each interval's stack and key list calls (all orgs together).
    pub stack_lists_by_interval: Vec<f64>,
    pub key_lists_by_interval: Vec<f64>,
    pub readiness_checks: Option<f64>,
    /// The closest two lists of one org and kind, in intervals, in the worst run.
    #[serde(default)]
    pub closest_lists_intervals: Option<f64>,
    pub poll_per_resource_calls_per_org_per_interval: Option<f64>,
    pub poll_per_resource_calls: Option<f64>,
    pub steady_calls: Option<f64>,
}

/// A memory comparison: peak RSS at the end of steady state with and without noise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryComparison {
    pub with_noise: String,
    pub without_noise: String,
    pub noise: String,
    pub peak_rss_with_mib: f64,
    pub peak_rss_without_mib: f64,
    pub ratio: f64,
}

/// One point of the cost curve (`curve.rs`): a scenario's burst, and its memory after steady state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurvePoint {
    pub scenario: String,
    pub resources: usize,
    pub orgs: usize,
    pub burst_wall_seconds: f64,
    pub ratio_to_lower_bound: Option<f64>,
    pub calls: f64,
    pub apiserver_writes: f64,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    /// Peak RSS per 1,000 resources.
    pub rss_mib_per_1000: f64,
    /// RSS growth per 1,000 more resources since the previous point (none for the first).
    pub rss_growth_mib_per_1000: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    pub generated_at: String,
    pub quick: bool,
    pub runs: usize,
    pub machine: Machine,
    pub settings: Settings,
    pub scenarios: Vec<Scenario>,
    pub lower_bound_formula: String,
    pub medians: Vec<PhaseMedians>,
    pub memory: Vec<MemoryComparison>,
    pub all_runs: Vec<Run>,
    /// The access-policy token scenarios (absent from reports made before them).
    #[serde(default)]
    pub token_scenarios: Vec<TokenScenario>,
    #[serde(default)]
    pub token_medians: Vec<TokenMedians>,
    #[serde(default)]
    pub token_runs: Vec<TokenRun>,
    /// The cost curve (absent from reports made before it).
    #[serde(default)]
    pub curve: Vec<CurvePoint>,
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
                lower_bound_without_writes_seconds: o(&|p| {
                    p.lower_bound.as_ref().map(|b| b.bound_without_writes_s)
                }),
                ratio_to_lower_bound_without_writes: o(&|p| p.ratio_to_lower_bound_without_writes),
                writes_term_seconds: o(&|p| p.lower_bound.as_ref().map(|b| b.writes_s)),
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
                stack_lists_by_interval: by_interval(&phases, |s| &s.stack_lists_by_interval),
                key_lists_by_interval: by_interval(&phases, |s| &s.key_lists_by_interval),
                other_calls: o(&|p| p.steady.as_ref().map(|s| s.other_calls as f64)),
                readiness_checks: o(&|p| p.steady.as_ref().map(|s| s.readiness_checks as f64)),
                closest_lists_intervals: phases
                    .iter()
                    .filter_map(|p| p.steady.as_ref().and_then(|s| s.closest_lists_intervals))
                    .reduce(f64::min),
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

/// The median over runs of each interval's count.
fn by_interval(
    phases: &[&crate::figures::Phase],
    series: impl Fn(&crate::figures::Steady) -> &Vec<u64>,
) -> Vec<f64> {
    let all: Vec<&Vec<u64>> = phases
        .iter()
        .filter_map(|p| p.steady.as_ref().map(&series))
        .collect();
    let slots = all.iter().map(|v| v.len()).max().unwrap_or(0);
    (0..slots)
        .map(|i| {
            median(
                all.iter()
                    .filter_map(|v| v.get(i).map(|&n| n as f64))
                    .collect(),
            )
        })
        .collect()
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
