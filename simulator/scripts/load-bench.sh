#!/usr/bin/env bash
# Load benchmark of the grafana.com simulator (a benchmark, not a test).
# Starts the release binary on loopback, then runs ROUNDS rounds of the
# open-loop load generator (simulator/examples/load.rs) at RATE requests/s.
# Prints one line per round with the 1-minute load average beside it, then
# the server-side handling time of the last round's requests (from /_sim).
#
# SCHED=fifo runs both processes under SCHED_FIFO (chrt, needs root) so that
# other work on a shared machine cannot starve them: it separates the
# simulator's own latency from CPU starvation.
set -euo pipefail

RATE=${RATE:-2000}
ROUND_SECONDS=${ROUND_SECONDS:-20}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18090}
SCHED=${SCHED:-normal}

cd "$(dirname "$0")/../.."
cargo build --quiet --release -p grafana-cloud-simulator --bin grafana-cloud-simulator --example load

# A command prefix rather than a shell function, so that `$!` is the server
# itself (chrt execs it) and the trap below stops it.
prefix=()
if [ "$SCHED" = fifo ]; then prefix=(chrt -f 10); fi

"${prefix[@]}" target/release/grafana-cloud-simulator --listen "127.0.0.1:${PORT}" --org bench=bench-token >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:${PORT}/_sim/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

for round in $(seq "$ROUNDS"); do
  curl -fsS -X POST "http://127.0.0.1:${PORT}/_sim/reset"
  load=$(cut -d' ' -f1 /proc/loadavg)
  result=$("${prefix[@]}" target/release/examples/load --base-url "http://127.0.0.1:${PORT}/api" \
    --org bench --token bench-token --rate "$RATE" --seconds "$ROUND_SECONDS")
  echo "round=${round} rate=${RATE} sched=${SCHED} loadavg=${load} ${result}"
done

curl -fsS "http://127.0.0.1:${PORT}/_sim/requests" |
  jq -r '[.[].durationMs] | sort | length as $n
    | "server-side handling of the last round: requests=\($n) p50_ms=\(.[($n*0.5|floor)]) p99_ms=\(.[($n*0.99|floor)]) max_ms=\(.[-1])"'
