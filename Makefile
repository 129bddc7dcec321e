# The two commands a newcomer needs:
#   make demo   local control plane + grafana.com simulator + operator + deploy/examples
#   make test   formatting, lints, unit, scenario, packaging and end-to-end tests
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

.PHONY: demo test lint control-plane tools generate bench

demo:
	hack/demo.sh

test: control-plane tools lint
	GCO_TOOLS_BIN="$$(hack/install-tools.sh | tail -n1)" cargo test --workspace --all-targets --no-fail-fast

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

control-plane:
	tests/control-plane/build.sh | tail -n1

tools:
	hack/install-tools.sh | tail -n1

# Regenerates crds/, the chart's CRD copies, deploy/ and the dashboard and alert rules after a
# change to the CRD types, the chart or the metrics.
generate: tools
	GCO_UPDATE_CRDS=1 cargo test --test crds
	hack/sync-chart-crds.sh
	PATH="$$(hack/install-tools.sh | tail -n1):$$PATH" hack/render-deploy.sh
	cargo run -q -p monitoring

# Benchmark (not a test): release operator and simulator against the real control plane.
# Results go to bench/results/; BENCH_ARGS="--quick" for a smoke run (into target/bench-quick/).
bench: control-plane
	test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { apt-get update -qq && apt-get install -y -qq fonts-dejavu-core; }
	cargo build --release --bin grafana-cloud-operator
	cargo build --release -p grafana-cloud-simulator --bin grafana-cloud-simulator
	cargo run --release -p bench -- $(BENCH_ARGS)
