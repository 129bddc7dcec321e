//! Command-line interface. Every `run` flag can also be set through an environment variable.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use url::Url;

/// Kubernetes operator for Grafana Cloud stacks and API keys.
#[derive(Parser, Debug)]
#[command(name = "grafana-cloud-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controllers.
    Run(Box<RunArgs>),
    /// Print every CustomResourceDefinition as YAML.
    Crd,
}

/// Log output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Flags of `grafana-cloud-operator run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Base URL of the grafana.com API.
    #[arg(
        long,
        env = "GCO_GRAFANA_API_URL",
        default_value = "https://grafana.com/api"
    )]
    pub grafana_api_url: Url,

    /// Namespace to watch; repeat for several. Default: all namespaces.
    #[arg(long = "namespace", env = "GCO_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Elect a leader through a coordination.k8s.io Lease before reconciling.
    #[arg(long, env = "GCO_LEADER_ELECT")]
    pub leader_elect: bool,

    /// Namespace of the leader-election Lease. Default: the in-cluster namespace, else `default`.
    #[arg(long, env = "GCO_LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "GCO_LEADER_ELECTION_LEASE_NAME",
        default_value = "grafana-cloud-operator"
    )]
    pub leader_election_lease_name: String,

    /// How long the lease is valid without renewal; a failover takes at most this long.
    #[arg(long, env = "GCO_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// Address of the Prometheus metrics endpoint.
    #[arg(long, env = "GCO_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Address of the /healthz and /readyz endpoints.
    #[arg(long, env = "GCO_HEALTH_ADDR", default_value = "0.0.0.0:8081")]
    pub health_addr: SocketAddr,

    /// Log format.
    #[arg(long, env = "GCO_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter, for example `info` or `info,grafana_cloud_operator=debug`.
    #[arg(long, env = "GCO_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Maximum number of resources of each kind reconciled at once.
    #[arg(long, env = "GCO_CONCURRENCY", default_value_t = 4)]
    pub concurrency: u16,

    /// Threads that run the reconciles. The work waits on grafana.com and the API server
    /// far more than it computes: one thread served 11,000 resources in the benchmark, and
    /// each thread more costs memory (its stack and its allocator arena).
    #[arg(long, env = "GCO_WORKER_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub worker_threads: u16,

    /// How often a converged resource is checked again, unless its spec overrides it.
    #[arg(long, env = "GCO_RESYNC_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub resync_interval: Duration,

    /// How often a Ready stack's plugins and connections are read again when nothing
    /// changed: never more often than its resync.
    #[arg(long, env = "GCO_STACK_INVENTORY_INTERVAL", default_value = "1h", value_parser = parse_duration)]
    pub stack_inventory_interval: Duration,

    /// Timeout of each grafana.com request.
    #[arg(long, env = "GCO_API_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub api_timeout: Duration,

    /// Requests per second each grafana.com organisation may receive from the operator.
    #[arg(long, env = "GCO_API_RATE_LIMIT", default_value = "5")]
    pub api_rate_limit: std::num::NonZeroU32,

    /// Requests an organisation may receive at once before the rate limit applies.
    #[arg(long, env = "GCO_API_BURST", default_value = "20")]
    pub api_burst: std::num::NonZeroU32,

    /// Default credentials Secret, as `namespace/name`, for resources without `spec.credentials`.
    #[arg(long, env = "GCO_DEFAULT_CREDENTIALS_SECRET")]
    pub default_credentials_secret: Option<String>,

    /// Key of the token in the default credentials Secret.
    #[arg(long, env = "GCO_DEFAULT_CREDENTIALS_KEY", default_value = "token")]
    pub default_credentials_key: String,

    /// Label selector of the namespaces allowed to use the default credentials. Without it,
    /// no namespace may fall back to them.
    #[arg(long, env = "GCO_DEFAULT_CREDENTIALS_NAMESPACE_SELECTOR")]
    pub default_credentials_namespace_selector: Option<String>,
}

/// Parses durations such as `30s`, `5m` or `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_flags_have_working_defaults() {
        let cli = Cli::try_parse_from(["grafana-cloud-operator", "run"]).expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(args.grafana_api_url.as_str(), "https://grafana.com/api");
        assert_eq!(args.resync_interval, Duration::from_secs(300));
        assert_eq!(args.stack_inventory_interval, Duration::from_secs(3600));
        assert!(args.namespaces.is_empty());
        assert!(args.default_credentials_namespace_selector.is_none());
        assert_eq!(args.worker_threads, 1);
    }

    #[test]
    fn worker_threads_are_bounded() {
        let parse = |n: &str| {
            Cli::try_parse_from(["grafana-cloud-operator", "run", "--worker-threads", n]).is_ok()
        };
        assert!(parse("4"));
        assert!(!parse("0"), "no threads at all");
        assert!(!parse("65"), "more than 64");
    }

    #[test]
    fn namespace_flag_repeats() {
        let cli = Cli::try_parse_from([
            "grafana-cloud-operator",
            "run",
            "--namespace",
            "a",
            "--namespace",
            "b,c",
        ])
        .expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(args.namespaces, ["a", "b", "c"]);
    }
}
