//! `grafana-cloud-simulator`: run the grafana.com simulator as a process.

use std::{io::IsTerminal, net::SocketAddr, time::Duration};

use clap::{Parser, ValueEnum};
use grafana_cloud_simulator::{ForeignStack, Simulator, parse_duration};
use tracing_subscriber::EnvFilter;

/// A grafana.com API simulator for tests, benchmarks and the demo.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "SIMULATOR_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// An org and its bearer token, as SLUG=TOKEN; repeatable.
    #[arg(long = "org", value_name = "SLUG=TOKEN", value_parser = parse_org, required = true)]
    orgs: Vec<(String, String)>,
    /// How long after creation a stack becomes ready.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    readiness_delay: Duration,
    /// How long a deleted stack's slug stays reserved.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    deleted_slug_reservation: Duration,
    /// Latency added to every /api request.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    latency: Duration,
    /// Random extra latency, up to this much.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    jitter: Duration,
    /// How requests for another org's stack are answered.
    #[arg(long, value_enum, default_value = "forbidden")]
    foreign_stack: ForeignStackArg,
    /// The most items one page of a `/v1` list holds.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Answer the API key routes as grafana.com does today (404 for org keys, 410 for stack keys).
    #[arg(long)]
    api_keys_removed: bool,
    /// How long a new access-policy token takes to start authenticating.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    token_activation_delay: Duration,
    /// Runtime worker threads (0: one per CPU).
    #[arg(long, env = "SIMULATOR_WORKER_THREADS", default_value_t = 0)]
    worker_threads: usize,
    /// Log format.
    #[arg(long, value_enum, env = "SIMULATOR_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ForeignStackArg {
    Forbidden,
    NotFound,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

// The token goes into the simulator's config only; it is never printed.
fn parse_org(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((slug, token)) if !slug.is_empty() && !token.is_empty() => {
            Ok((slug.to_owned(), token.to_owned()))
        }
        _ => Err("expected SLUG=TOKEN".to_owned()),
    }
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.worker_threads > 0 {
        runtime.worker_threads(args.worker_threads);
    }
    runtime.enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> std::io::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::stdout().is_terminal())
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init(),
    }
    let mut builder = Simulator::builder()
        .listen(args.listen)
        .readiness_delay(args.readiness_delay)
        .deleted_slug_reservation(args.deleted_slug_reservation)
        .latency(args.latency, args.jitter)
        .foreign_stack(match args.foreign_stack {
            ForeignStackArg::Forbidden => ForeignStack::Forbidden,
            ForeignStackArg::NotFound => ForeignStack::NotFound,
        })
        .page_size(args.page_size)
        .token_activation_delay(args.token_activation_delay);
    if args.api_keys_removed {
        builder = builder.api_keys_removed();
    }
    for (slug, token) in &args.orgs {
        builder = builder.org(slug, token);
    }
    let simulator = builder.start().await?;
    tracing::info!(base_url = %simulator.base_url(), control_url = %simulator.control_url(), "ready");
    shutdown_signal().await;
    tracing::info!("shutting down");
    simulator.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
