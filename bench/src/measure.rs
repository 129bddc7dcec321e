//! Process figures from /proc, kube-apiserver write counters from its `/metrics`, and the
//! machine description.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::BoxError;

/// Memory and CPU of one process at one moment.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ProcStats {
    /// Peak resident set size so far (VmHWM), MiB.
    pub peak_rss_mib: f64,
    /// Current resident set size (VmRSS), MiB.
    pub rss_mib: f64,
    /// User plus system CPU time so far, seconds.
    pub cpu_seconds: f64,
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn proc_stats(pid: u32, clk_tck: f64) -> Result<ProcStats, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |field: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> f64 {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the command name.
    Ok(ProcStats {
        peak_rss_mib: kib("VmHWM:") / 1024.0,
        rss_mib: kib("VmRSS:") / 1024.0,
        cpu_seconds: (ticks(11) + ticks(12)) / clk_tck,
    })
}

/// Clock ticks per second, from `getconf CLK_TCK` (100 on Linux when it cannot be read).
pub fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Write verbs, as kube-apiserver labels them (`APPLY` is a server-side apply patch).
const WRITE_VERBS: [&str; 5] = ["POST", "PUT", "PATCH", "APPLY", "DELETE"];

/// `apiserver_request_total` for write verbs on the operator's resources, Secrets and Events,
/// keyed by `"<resource>[/<subresource>] <VERB>"`.
pub type WriteCounts = BTreeMap<String, f64>;

/// Scrapes kube-apiserver's `/metrics` with the admin client.
pub async fn apiserver_writes(client: &kube::Client) -> Result<WriteCounts, BoxError> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client.request_text(request).await?;
    Ok(parse_writes(&text))
}

fn parse_writes(text: &str) -> WriteCounts {
    let mut out = WriteCounts::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |name: &str| -> &str {
            let needle = format!("{name}=\"");
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(needle.as_str()))
                .map(|v| v.trim_end_matches('"'))
                .unwrap_or("")
        };
        let (verb, group, resource) = (label("verb"), label("group"), label("resource"));
        let tracked = group == "grafanacloud.operator.dev"
            || (group.is_empty() && resource == "secrets")
            || resource == "events";
        if !tracked || !WRITE_VERBS.contains(&verb) {
            continue;
        }
        let subresource = label("subresource");
        let key = if subresource.is_empty() {
            format!("{resource} {verb}")
        } else {
            format!("{resource}/{subresource} {verb}")
        };
        *out.entry(key).or_default() += value.trim().parse::<f64>().unwrap_or(0.0);
    }
    out
}

/// The operator's writes in `writes` to `resource` (with its subresources) and to Secrets:
/// what creating that many keys or tokens cost. The benchmark's own creates of `resource`
/// are left out, and events are not counted.
pub fn creation_writes(writes: &WriteCounts, resource: &str) -> f64 {
    let own_creates = format!("{resource} POST");
    writes
        .iter()
        .filter(|(k, _)| {
            **k != own_creates && (k.starts_with(resource) || k.starts_with("secrets"))
        })
        .map(|(_, v)| v)
        .sum()
}

/// `after − before`, dropping zeroes.
pub fn diff(before: &WriteCounts, after: &WriteCounts) -> WriteCounts {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// The median of `values` (0 when empty).
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

/// The machine the benchmark ran on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub memory_mib: u64,
    pub cpu_model: String,
    pub kernel: String,
    pub rustc: String,
    pub kubernetes: String,
    pub etcd: String,
    pub operator_version: String,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cmd = |prog: &str, args: &[&str]| -> String {
        std::process::Command::new(prog)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_mib: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024),
        cpu_model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default(),
        kernel: cmd("uname", &["-srm"]),
        rustc: cmd("rustc", &["--version"]),
        kubernetes: testenv::kubernetes_version().to_string(),
        etcd: testenv::etcd_version().to_string(),
        operator_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_counts_keep_write_verbs_on_tracked_resources() {
        let text = r#"# HELP apiserver_request_total x
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="POST",version="v1"} 12
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} 99
apiserver_request_total{code="200",component="apiserver",dry_run="",group="grafanacloud.operator.dev",resource="grafanastacks",scope="resource",subresource="status",verb="APPLY",version="v1alpha1"} 3
apiserver_request_total{code="409",component="apiserver",dry_run="",group="grafanacloud.operator.dev",resource="grafanastacks",scope="resource",subresource="status",verb="APPLY",version="v1alpha1"} 1
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="POST",version="v1"} 7
"#;
        let counts = parse_writes(text);
        assert_eq!(counts.get("secrets POST"), Some(&12.0));
        assert_eq!(counts.get("grafanastacks/status APPLY"), Some(&4.0));
        assert_eq!(counts.len(), 2);
        let later: WriteCounts = [("secrets POST".to_string(), 15.0)].into();
        assert_eq!(diff(&counts, &later).get("secrets POST"), Some(&3.0));
    }

    #[test]
    fn creation_writes_count_the_kind_and_secrets_but_not_the_benchmarks_creates() {
        let writes: WriteCounts = [
            ("grafanacloudapikeys POST", 10.0),
            ("grafanacloudapikeys PATCH", 10.0),
            ("grafanacloudapikeys/status APPLY", 20.0),
            ("secrets POST", 10.0),
            ("grafanastacks/status APPLY", 3.0),
            ("events POST", 10.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(creation_writes(&writes, "grafanacloudapikeys"), 40.0);
    }

    #[test]
    fn own_process_stats_are_readable() {
        let stats = proc_stats(std::process::id(), clk_tck()).expect("proc");
        assert!(stats.peak_rss_mib >= stats.rss_mib && stats.rss_mib > 0.0);
    }
}
