//! Where the medians stand against the targets of the benchmark issue. The workload is not
//! tuned to pass: a missed target is reported as missed.

use std::fmt::Write as _;

use crate::{
    measure::{self, median},
    report::Report,
    scenario::Run,
};

/// Peak RSS allowed with 1,000 keys, 100 stacks and 10,000 unrelated Secrets.
const RSS_LIMIT_MIB: f64 = 64.0;
/// Peak RSS allowed at 1,100 resources (1,000 keys and 100 stacks, no noise).
const RSS_LIMIT_1100_MIB: f64 = 24.0;
/// kube-apiserver writes allowed per org key on creation, the Secret included.
const WRITES_PER_KEY: f64 = 3.0;

/// The operator's writes per org key in a run's burst: the key's own (finalizer, claim and
/// status) and its Secret's. Events are not counted.
fn writes_per_key(run: &Run, keys: usize) -> Option<f64> {
    let burst = run.phases.iter().find(|p| p.name == "burst")?;
    let writes = measure::creation_writes(&burst.apiserver_writes, "grafanacloudapikeys");
    (keys > 0).then(|| writes / keys as f64)
}

fn key_write_rows(out: &mut String, report: &Report) {
    for s in report.scenarios.iter().filter(|s| s.keys > 0) {
        let per_key: Vec<f64> = report
            .all_runs
            .iter()
            .filter(|r| r.scenario == s.name)
            .filter_map(|r| writes_per_key(r, s.keys))
            .collect();
        if per_key.is_empty() {
            continue;
        }
        let m = median(per_key);
        let _ = writeln!(
            out,
            "| ≤ {WRITES_PER_KEY} apiserver writes per org key on creation, the Secret included | {} (burst) | {m:.2} (finalizer and claim in one patch, Secret, status; events not counted) | {} |",
            s.name,
            verdict(m <= WRITES_PER_KEY)
        );
    }
}

fn rss_1100_rows(out: &mut String, report: &Report) {
    for p in report.curve.iter().filter(|p| p.resources == 1_100) {
        let _ = writeln!(
            out,
            "| peak RSS ≤ {RSS_LIMIT_1100_MIB} MiB at 1,100 resources | {} | {:.1} MiB ({:.2} MiB more per 1,000 resources than the point before) | {} |",
            p.scenario,
            p.peak_rss_mib,
            p.rss_growth_mib_per_1000.unwrap_or(0.0),
            verdict(p.peak_rss_mib <= RSS_LIMIT_1100_MIB)
        );
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

/// How the closest two lists of one org and kind read, and whether they are at least one
/// interval apart (no org saw two lists of one kind at all: trivially so).
fn spacing(closest_intervals: Option<f64>) -> (String, bool) {
    match closest_intervals {
        Some(gap) => (format!("{gap:.2} intervals apart (worst run)"), gap >= 1.0),
        None => ("never two in the window".into(), true),
    }
}

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n## Targets\n");
    let _ = writeln!(out, "| target | scenario | measured (median) | result |");
    let _ = writeln!(out, "|---|---|---|---|");
    for p in &report.medians {
        if p.phase == "burst"
            && let Some(ratio) = p.ratio_to_lower_bound
        {
            let old = p
                .ratio_to_lower_bound_without_writes
                .map_or(String::new(), |r| {
                    format!(" ({r:.2}× the bound without the writes term)")
                });
            let _ = writeln!(
                out,
                "| burst within 1.5× the lower bound | {} | {:.1} s / {:.1} s = {ratio:.2}×{old} | {} |",
                p.scenario,
                p.wall_seconds,
                p.lower_bound_seconds.unwrap_or(0.0),
                verdict(ratio <= 1.5)
            );
        }
        if p.phase == "steady" {
            let stacks = p.stack_lists_per_org_per_interval.unwrap_or(0.0);
            let keys = p.key_lists_per_org_per_interval.unwrap_or(0.0);
            let checks = p.readiness_checks.unwrap_or(0.0);
            let other = p.other_calls.unwrap_or(0.0);
            let scenario = report.scenarios.iter().find(|s| s.name == p.scenario);
            let key_orgs = scenario.map_or(1, |s| s.keys.min(report.settings.orgs).max(1));
            let later: &[f64] = p.key_lists_by_interval.get(1..).unwrap_or_default();
            let later_rate = later.iter().sum::<f64>() / (later.len().max(1) * key_orgs) as f64;
            let later_note = match later.is_empty() {
                true => String::new(),
                false => format!(" ({later_rate:.2} key lists from the second interval on)"),
            };
            let (closest, spaced) = spacing(p.closest_lists_intervals);
            let _ = writeln!(
                out,
                "| steady: ≤ 1 list call per org and kind in any resync interval; no other calls but readiness checks of not-ready stacks | {} | closest two lists of one org and kind {closest}; {stacks:.2} stack lists + {keys:.2} key lists per org per interval{later_note}; {checks:.0} readiness checks (every stack is ready); {other:.0} other calls | {} |",
                p.scenario,
                verdict(spaced && checks == 0.0 && other == 0.0)
            );
        }
        if p.phase == "burst" || p.phase == "churn" {
            let _ = writeln!(
                out,
                "| exactly one create per resource | {} ({}) | {} duplicate creates (worst run) | {} |",
                p.scenario,
                p.phase,
                p.duplicate_creates_max,
                verdict(p.duplicate_creates_max == 0)
            );
        }
    }
    for run in &report.all_runs {
        let keys_ok = run.remote_keys as usize == run.expected_keys;
        let stacks_ok = run.remote_stacks as usize == run.expected_stacks;
        if !(keys_ok && stacks_ok) {
            let _ = writeln!(
                out,
                "| one remote object per resource at the end | {} run {} | {} org keys for {} resources, {} stacks for {} | missed |",
                run.scenario,
                run.run,
                run.remote_keys,
                run.expected_keys,
                run.remote_stacks,
                run.expected_stacks
            );
        }
    }
    let largest = report
        .scenarios
        .iter()
        .filter(|s| s.noise_secrets > 0)
        .max_by_key(|s| (s.keys + s.stacks, s.noise_secrets));
    if let Some(s) = largest
        && let Some(p) = report
            .medians
            .iter()
            .find(|p| p.scenario == s.name && p.phase == "steady")
    {
        let _ = writeln!(
            out,
            "| peak RSS ≤ {RSS_LIMIT_MIB} MiB ({} keys, {} stacks, {} unrelated Secrets) | {} | {:.1} MiB | {} |",
            s.keys,
            s.stacks,
            s.noise_secrets,
            s.name,
            p.peak_rss_mib,
            verdict(p.peak_rss_mib <= RSS_LIMIT_MIB)
        );
    }
    key_write_rows(&mut out, report);
    rss_1100_rows(&mut out, report);
    for c in &report.memory {
        let _ = writeln!(
            out,
            "| noise changes RSS by ≤ 10% | {} vs {} | {:.1} / {:.1} MiB = {:.3} | {} |",
            c.with_noise,
            c.without_noise,
            c.peak_rss_with_mib,
            c.peak_rss_without_mib,
            c.ratio,
            verdict((c.ratio - 1.0).abs() <= 0.10)
        );
    }
    for t in &report.token_medians {
        let _ = writeln!(
            out,
            "| one create per access-policy token | {} | {:.2} token creates per token, {:.2} policy creates per policy | {} |",
            t.scenario,
            t.token_creates_per_token,
            t.policy_creates_per_policy,
            verdict(t.token_creates_per_token == 1.0 && t.policy_creates_per_policy == 1.0)
        );
        let (closest, spaced) = spacing(t.closest_lists_intervals);
        let _ = writeln!(
            out,
            "| steady: ≤ 1 token list and ≤ 1 policy list per org in any resync interval, as for keys; no write | {} | closest two lists of one org and kind {closest}; {:.2} token lists ({:.2} from the second interval on) + {:.2} policy lists per org per interval; {:.0} writes | {} |",
            t.scenario,
            t.token_lists_per_org_per_interval,
            t.later_token_lists_per_org_per_interval,
            t.policy_lists_per_org_per_interval,
            t.steady_writes,
            verdict(spaced && t.steady_writes == 0.0)
        );
        let _ = writeln!(
            out,
            "| ≤ {WRITES_PER_KEY} apiserver writes per access-policy token on creation, the Secret included | {} (burst) | {:.2} (finalizer, Secret, status; events not counted) | {} |",
            t.scenario,
            t.writes_per_token,
            verdict(t.writes_per_token <= WRITES_PER_KEY)
        );
        let _ = writeln!(
            out,
            "| rotation of 10% of the tokens: one create each, never a dead token in a Secret | {} | {} tokens: {:.2} creates per rotated token, {} dead tokens seen (worst run) | {} |",
            t.scenario,
            t.rotated_tokens,
            t.rotation_creates_per_token,
            t.rotation_dead_max,
            verdict(
                t.rotated_tokens > 0
                    && t.rotation_creates_per_token == 1.0
                    && t.rotation_dead_max == 0
            )
        );
    }
    let all_match = report.all_runs.iter().all(|r| {
        r.remote_keys as usize == r.expected_keys && r.remote_stacks as usize == r.expected_stacks
    });
    if all_match {
        let _ = writeln!(
            out,
            "| one remote object per resource at the end | every run | org keys and stacks at grafana.com = resources applied | met |"
        );
    }
    out
}
