//! Figures of one phase: grafana.com calls from the simulator's log, the lower bound the API
//! budget and latency imply, apiserver writes and the operator's CPU and memory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    measure::{ProcStats, WriteCounts},
    sim::Request,
};

/// The settings the lower bound depends on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Budget {
    /// `--api-rate-limit`: calls per second per org.
    pub rate_per_org: f64,
    /// `--api-burst`: calls an org may receive at once.
    pub burst: f64,
    /// Mean grafana.com latency per call, seconds.
    pub latency_s: f64,
    /// `--concurrency`: reconciles in flight per kind.
    pub concurrency: f64,
    /// Time grafana.com takes to provision a stack, seconds.
    pub readiness_delay_s: f64,
}

/// The least time a phase could take given the calls it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LowerBound {
    /// `max over orgs of max(0, calls_org − burst) / rate`.
    pub budget_s: f64,
    /// `max over kinds of calls_kind × latency / concurrency`.
    pub latency_s: f64,
    /// `readiness_delay + 2 × latency` (create, then one readiness check) when stacks are created.
    pub provisioning_s: f64,
    /// How long a plain client takes, in the same run and with the operator's concurrency, to
    /// make the kube-apiserver writes the phase needs (0 when not measured).
    #[serde(default)]
    pub writes_s: f64,
    /// The largest of the terms.
    pub bound_s: f64,
    /// The largest of the terms without `writes_s`: the bound of earlier results.
    #[serde(default)]
    pub bound_without_writes_s: f64,
    /// Which term sets the bound.
    pub binding: String,
}

pub const LOWER_BOUND_FORMULA: &str = "lower bound = max(budget, latency, provisioning, writes), where \
budget = max over orgs of max(0, calls_org − api_burst) / api_rate_limit (the per-org token \
bucket), latency = max over kinds of calls_kind × mean_latency / concurrency (each kind's \
controller has `concurrency` reconciles in flight, each waiting one latency per call), and \
provisioning = readiness_delay + 2 × mean_latency when stacks are created (grafana.com's own \
provisioning time), and writes = the time a plain client takes, in the same run and against the \
same control plane, to make the kube-apiserver writes the phase needs (3 per org key or token: \
finalizer, Secret, status; 2 per stack: finalizer, status; 1 more per churned resource) with \
the operator's concurrency (`--concurrency` × the kinds involved). The ratio without the writes \
term, as earlier results computed it, is reported beside. Two bounds: with calls = the calls a phase needs at least (one read-before-create \
list per org and kind involved; per org key one create, plus one delete when churned; per stack one \
create and one readiness check, plus one delete when churned), the bound the targets use; and with \
calls = the calls the operator actually made, whose ratio isolates scheduling overhead from call \
economy.";

/// Calls per org and per kind (`keys`, `stacks`), the inputs of a [`LowerBound`].
#[derive(Debug, Clone, Default)]
pub struct Calls {
    pub by_org: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
}

impl Calls {
    /// The calls the operator made, from the simulator's log.
    pub fn made(requests: &[Request]) -> Self {
        Self {
            by_org: count(requests, |r| r.org.clone().unwrap_or_default()),
            by_kind: count(requests, |r| r.kind().to_string()),
        }
    }

    pub fn add(&mut self, org: &str, kind: &str, n: u64) {
        *self.by_org.entry(org.to_string()).or_default() += n;
        *self.by_kind.entry(kind.to_string()).or_default() += n;
    }
}

impl LowerBound {
    pub fn of(calls: &Calls, budget: &Budget, creates_stacks: bool) -> Self {
        let budget_s = calls
            .by_org
            .values()
            .map(|&n| (n as f64 - budget.burst).max(0.0) / budget.rate_per_org)
            .fold(0.0, f64::max);
        let latency_s = calls
            .by_kind
            .values()
            .map(|&n| n as f64 * budget.latency_s / budget.concurrency)
            .fold(0.0, f64::max);
        let provisioning_s = if creates_stacks {
            budget.readiness_delay_s + 2.0 * budget.latency_s
        } else {
            0.0
        };
        let mut bound = Self {
            budget_s,
            latency_s,
            provisioning_s,
            writes_s: 0.0,
            bound_s: 0.0,
            bound_without_writes_s: 0.0,
            binding: String::new(),
        };
        bound.settle();
        bound
    }

    /// Adds the plain-client write term.
    pub fn with_writes(mut self, writes_s: f64) -> Self {
        self.writes_s = writes_s;
        self.settle();
        self
    }

    fn settle(&mut self) {
        let pick = |terms: &[(&'static str, f64)]| {
            terms
                .iter()
                .copied()
                .fold(("none", 0.0), |a, b| if b.1 > a.1 { b } else { a })
        };
        let old = [
            ("budget", self.budget_s),
            ("latency", self.latency_s),
            ("provisioning", self.provisioning_s),
        ];
        self.bound_without_writes_s = pick(&old).1;
        let (binding, bound_s) = pick(&[old[0], old[1], old[2], ("writes", self.writes_s)]);
        self.bound_s = bound_s;
        self.binding = binding.to_string();
    }
}

/// The shortest time, in resync intervals, between two `GET`s of one organisation to one of
/// `templates` (each template on its own): at least 1 means that no organisation saw two
/// lists of one kind within any one interval. `None` when none saw two.
pub fn closest_lists(requests: &[Request], templates: &[&str], interval_s: f64) -> Option<f64> {
    let mut times: BTreeMap<(String, &str), Vec<f64>> = BTreeMap::new();
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    for r in requests.iter().filter(|r| r.method == "GET") {
        if let Some(template) = templates
            .iter()
            .find(|t| r.template.as_deref() == Some(**t))
        {
            let at = r.seconds_since(epoch);
            if at >= 0.0 {
                let org = r.org.clone().unwrap_or_default();
                times.entry((org, template)).or_default().push(at);
            }
        }
    }
    times
        .into_values()
        .flat_map(|mut at| {
            at.sort_by(f64::total_cmp);
            at.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
        })
        .map(|gap| gap / interval_s.max(f64::EPSILON))
        .reduce(f64::min)
}

fn count(requests: &[Request], key: impl Fn(&Request) -> String) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in requests {
        *out.entry(key(r)).or_default() += 1;
    }
    out
}

/// Steady-state figures, per org and resync interval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Steady {
    pub intervals: f64,
    pub orgs: usize,
    /// All calls / (orgs × intervals).
    pub calls_per_org_per_interval: f64,
    /// The busiest org's calls / intervals.
    pub max_calls_per_org_per_interval: f64,
    /// `GET /api/orgs/{org}/instances` and `GET /api/orgs/{org}/api-keys` / (orgs × intervals).
    pub list_calls_per_org_per_interval: f64,
    /// `GET /api/orgs/{org}/instances` / (orgs × intervals): the stacks' snapshot list.
    pub stack_lists_per_org_per_interval: f64,
    /// `GET /api/orgs/{org}/api-keys` / (orgs × intervals): the org keys' snapshot list.
    pub key_lists_per_org_per_interval: f64,
    /// Calls that are neither lists nor readiness checks.
    pub other_calls: u64,
    /// Per resync interval of the window, in order: all calls, stack lists and key lists
    /// (all orgs together), from the requests' arrival times.
    pub calls_by_interval: Vec<u64>,
    pub stack_lists_by_interval: Vec<u64>,
    pub key_lists_by_interval: Vec<u64>,
    /// `GET /api/instances/{slug}/readiness` in the window (every stack is ready).
    pub readiness_checks: u64,
    /// The closest two stack lists or two key lists of one org, in intervals (see
    /// [`closest_lists`]).
    #[serde(default)]
    pub closest_lists_intervals: Option<f64>,
    /// Calls the poll-per-resource design makes: one GET per resource per interval.
    pub poll_per_resource_calls: u64,
    pub poll_per_resource_calls_per_org_per_interval: f64,
}

impl Steady {
    /// `orgs_with` = (orgs holding stacks, orgs holding keys): the per-kind list rates are per
    /// org that has resources of that kind.
    pub fn of(
        requests: &[Request],
        resources: usize,
        orgs: usize,
        orgs_with: (usize, usize),
        window: (chrono::DateTime<chrono::Utc>, f64),
        intervals: f64,
    ) -> Self {
        let (start, interval_s) = window;
        let slots = intervals.round().max(1.0) as usize;
        let by_interval = |template: Option<&str>| {
            let mut counts = vec![0u64; slots];
            for r in requests {
                if template.is_some_and(|t| r.method != "GET" || r.template.as_deref() != Some(t)) {
                    continue;
                }
                let slot = (r.seconds_since(start) / interval_s).floor();
                if slot >= 0.0 {
                    counts[(slot as usize).min(slots - 1)] += 1;
                }
            }
            counts
        };
        let by_org = count(requests, |r| r.org.clone().unwrap_or_default());
        let per = orgs as f64 * intervals;
        let calls_to = |template: &str| {
            requests
                .iter()
                .filter(|r| r.method == "GET" && r.template.as_deref() == Some(template))
                .count()
        };
        let closest_lists_intervals = closest_lists(
            requests,
            &["/api/orgs/{org}/instances", "/api/orgs/{org}/api-keys"],
            interval_s,
        );
        let stack_lists = calls_to("/api/orgs/{org}/instances");
        let key_lists = calls_to("/api/orgs/{org}/api-keys");
        let readiness_checks = calls_to("/api/instances/{slug}/readiness");
        let lists = stack_lists + key_lists;
        let poll = (resources as f64 * intervals).round() as u64;
        Self {
            intervals,
            orgs,
            calls_per_org_per_interval: requests.len() as f64 / per,
            max_calls_per_org_per_interval: by_org.values().copied().max().unwrap_or(0) as f64
                / intervals,
            list_calls_per_org_per_interval: lists as f64 / per,
            stack_lists_per_org_per_interval: stack_lists as f64
                / (orgs_with.0.max(1) as f64 * intervals),
            key_lists_per_org_per_interval: key_lists as f64
                / (orgs_with.1.max(1) as f64 * intervals),
            other_calls: (requests.len() - lists - readiness_checks) as u64,
            calls_by_interval: by_interval(None),
            stack_lists_by_interval: by_interval(Some("/api/orgs/{org}/instances")),
            key_lists_by_interval: by_interval(Some("/api/orgs/{org}/api-keys")),
            readiness_checks: readiness_checks as u64,
            closest_lists_intervals,
            poll_per_resource_calls: poll,
            poll_per_resource_calls_per_org_per_interval: poll as f64 / per,
        }
    }
}

/// Everything measured in one phase of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    /// Resources the phase acts on (created, churned, or sitting still).
    pub resources: usize,
    pub wall_seconds: f64,
    pub calls_total: u64,
    pub calls_by_endpoint: BTreeMap<String, u64>,
    pub calls_per_resource: f64,
    /// Successful `POST /api/instances` and `POST /api/orgs/{org}/api-keys`.
    pub creates_ok: u64,
    pub creates_attempted: u64,
    /// Successful creates beyond one per created resource.
    pub duplicate_creates: i64,
    /// Lower bound from the calls the phase needs at least and, once measured, the writes it
    /// needs; the targets use this one.
    pub lower_bound: Option<LowerBound>,
    pub ratio_to_lower_bound: Option<f64>,
    /// The same bound without the write term, as earlier results computed it.
    #[serde(default)]
    pub ratio_to_lower_bound_without_writes: Option<f64>,
    /// The kube-apiserver writes the phase needs at least.
    #[serde(default)]
    pub writes_needed: u64,
    /// Lower bound from the calls the operator made.
    pub lower_bound_calls_made: Option<LowerBound>,
    pub ratio_to_lower_bound_calls_made: Option<f64>,
    /// kube-apiserver write requests during the phase, by resource and verb (everyone's).
    pub apiserver_writes: WriteCounts,
    /// Writes to the custom resources and Secrets minus the benchmark's own creates and deletes.
    pub operator_writes: f64,
    pub operator_writes_per_resource: f64,
    /// The operator's CPU seconds during the phase.
    pub cpu_seconds: f64,
    /// The operator's figures at the end of the phase (peak RSS is over its whole life).
    pub operator: ProcStats,
    pub steady: Option<Steady>,
}

/// Inputs of [`Phase::new`] besides the request log.
pub struct PhaseInput<'a> {
    pub name: &'a str,
    pub resources: usize,
    /// Remote objects the phase should create (0 for steady state).
    pub expected_creates: u64,
    pub creates_stacks: bool,
    /// The calls the phase needs at least (empty for steady state).
    pub calls_needed: Calls,
    pub wall_seconds: f64,
    pub writes: WriteCounts,
    /// Writes to custom resources and Secrets the benchmark itself sent.
    pub own_writes: f64,
    /// The kube-apiserver writes the phase needs at least (see `plain_writes`).
    pub writes_needed: u64,
    pub cpu_seconds: f64,
    pub operator: ProcStats,
}

impl Phase {
    pub fn new(input: PhaseInput<'_>, requests: &[Request], budget: &Budget) -> Self {
        let calls_by_endpoint = count(requests, Request::endpoint);
        let calls_total = requests.len() as u64;
        let creates: Vec<&Request> = requests.iter().filter(|r| r.is_create()).collect();
        let creates_ok = creates.iter().filter(|r| r.ok()).count() as u64;
        let bounded = input.expected_creates > 0;
        let lower_bound =
            bounded.then(|| LowerBound::of(&input.calls_needed, budget, input.creates_stacks));
        let lower_bound_calls_made =
            bounded.then(|| LowerBound::of(&Calls::made(requests), budget, input.creates_stacks));
        let ratio = |b: &Option<LowerBound>| {
            b.as_ref()
                .filter(|b| b.bound_s > 0.0)
                .map(|b| input.wall_seconds / b.bound_s)
        };
        let ratio_to_lower_bound = ratio(&lower_bound);
        let ratio_to_lower_bound_calls_made = ratio(&lower_bound_calls_made);
        let ratio_to_lower_bound_without_writes = ratio(&lower_bound);
        let operator_writes = input
            .writes
            .iter()
            .filter(|(k, _)| !k.starts_with("events"))
            .map(|(_, v)| v)
            .sum::<f64>()
            - input.own_writes
            + 0.0; // an empty f64 sum is −0.0
        let per = input.resources.max(1) as f64;
        Self {
            name: input.name.to_string(),
            resources: input.resources,
            wall_seconds: input.wall_seconds,
            calls_total,
            calls_by_endpoint,
            calls_per_resource: calls_total as f64 / per,
            creates_ok,
            creates_attempted: creates.len() as u64,
            duplicate_creates: creates_ok as i64 - input.expected_creates as i64,
            lower_bound,
            ratio_to_lower_bound,
            ratio_to_lower_bound_without_writes,
            writes_needed: input.writes_needed,
            lower_bound_calls_made,
            ratio_to_lower_bound_calls_made,
            apiserver_writes: input.writes,
            operator_writes,
            operator_writes_per_resource: operator_writes / per,
            cpu_seconds: input.cpu_seconds,
            operator: input.operator,
            steady: None,
        }
    }
}

impl Phase {
    /// Adds the write term (how long a plain client takes for `writes_needed`) to both bounds.
    pub fn add_write_term(&mut self, writes_s: f64) {
        let wall = self.wall_seconds;
        let ratio = |b: &LowerBound| (b.bound_s > 0.0).then(|| wall / b.bound_s);
        if let Some(bound) = self.lower_bound.take() {
            let bound = bound.with_writes(writes_s);
            self.ratio_to_lower_bound = ratio(&bound);
            self.lower_bound = Some(bound);
        }
        if let Some(bound) = self.lower_bound_calls_made.take() {
            let bound = bound.with_writes(writes_s);
            self.ratio_to_lower_bound_calls_made = ratio(&bound);
            self.lower_bound_calls_made = Some(bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(seq: u64, method: &str, template: &str, org: &str) -> Request {
        Request {
            seq,
            at: format!("2026-01-01T00:00:{:02}Z", seq * 5),
            method: method.into(),
            template: Some(template.into()),
            status: Some(200),
            org: Some(org.into()),
        }
    }

    #[test]
    fn the_closest_lists_are_measured_per_org_and_kind() {
        const KEYS: &str = "/api/orgs/{org}/api-keys";
        const STACKS: &str = "/api/orgs/{org}/instances";
        // `req` puts request `seq` at second 5 × seq; the interval is 10 s.
        let requests = vec![
            req(0, "GET", KEYS, "a"),
            req(2, "GET", KEYS, "a"),
            req(1, "GET", STACKS, "a"),
            req(3, "GET", KEYS, "b"),
            req(5, "GET", KEYS, "b"),
            req(4, "POST", KEYS, "b"),
        ];
        let closest = closest_lists(&requests, &[KEYS, STACKS], 10.0);
        assert_eq!(
            closest,
            Some(1.0),
            "a key list and a stack list are not two of a kind"
        );
        let mut crowded = requests.clone();
        crowded.push(req(6, "GET", KEYS, "b"));
        assert_eq!(closest_lists(&crowded, &[KEYS, STACKS], 10.0), Some(0.5));
        assert_eq!(closest_lists(&requests[..1], &[KEYS], 10.0), None);
    }

    #[test]
    fn the_bound_is_the_largest_term() {
        let budget = Budget {
            rate_per_org: 10.0,
            burst: 10.0,
            latency_s: 0.05,
            concurrency: 4.0,
            readiness_delay_s: 1.0,
        };
        let mut requests: Vec<Request> = (0..110)
            .map(|i| req(i, "POST", "/api/orgs/{org}/api-keys", "a"))
            .collect();
        requests.extend((0..20).map(|i| req(200 + i, "GET", "/api/instances/{slug}", "b")));
        let bound = LowerBound::of(&Calls::made(&requests), &budget, true);
        assert!((bound.budget_s - 10.0).abs() < 1e-9, "(110 − 10) / 10");
        assert!((bound.latency_s - 110.0 * 0.05 / 4.0).abs() < 1e-9);
        assert!((bound.provisioning_s - 1.1).abs() < 1e-9);
        assert_eq!(bound.binding, "budget");
        assert!((bound.bound_s - 10.0).abs() < 1e-9);
        let with_writes = bound.with_writes(12.5);
        assert_eq!(with_writes.binding, "writes");
        assert!((with_writes.bound_s - 12.5).abs() < 1e-9);
        assert!(
            (with_writes.bound_without_writes_s - 10.0).abs() < 1e-9,
            "the old bound stays"
        );
    }

    #[test]
    fn steady_state_counts_lists_per_org_and_interval() {
        let requests = vec![
            req(1, "GET", "/api/orgs/{org}/instances", "a"),
            req(2, "GET", "/api/orgs/{org}/api-keys", "a"),
            req(3, "GET", "/api/orgs/{org}/instances", "b"),
            req(4, "GET", "/api/orgs/{org}/api-keys", "b"),
        ];
        let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let steady = Steady::of(&requests, 100, 2, (2, 2), (start, 10.0), 2.0);
        assert!((steady.calls_per_org_per_interval - 1.0).abs() < 1e-9);
        assert!((steady.list_calls_per_org_per_interval - 1.0).abs() < 1e-9);
        assert_eq!(steady.poll_per_resource_calls, 200);
        assert!((steady.poll_per_resource_calls_per_org_per_interval - 50.0).abs() < 1e-9);
        assert_eq!(steady.readiness_checks, 0);
        assert!((steady.stack_lists_per_org_per_interval - 0.5).abs() < 1e-9);
        assert_eq!(steady.other_calls, 0);
        // Arrivals at 5, 10, 15 and 20 s: one in the first 10 s interval, the rest after.
        assert_eq!(steady.calls_by_interval, vec![1, 3]);
        assert_eq!(steady.key_lists_by_interval, vec![0, 2]);
    }
}
