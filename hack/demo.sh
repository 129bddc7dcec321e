#!/usr/bin/env bash
# The local demo: a real control plane, the grafana.com simulator and the operator, with the
# examples from deploy/examples applied. Shows the resulting stacks, access policies, tokens,
# keys and Secrets (the headline: a token Secret with a complete Grafana Alloy config), then
# keeps everything running until Ctrl-C (or exits at once with DEMO_EXIT=1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEMO_ORG=myorg
DEMO_TOKEN="demo-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
state="$(mktemp -d -t gco-demo-XXXXXX)"
export KUBECONFIG="${state}/kubeconfig"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped; logs were in ${state}"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Building the control plane (cached after the first run) and the tools"
tests/control-plane/build.sh | tail -n1
PATH="$(hack/install-tools.sh | tail -n1):${PATH}"
export PATH

step "Building the operator, the simulator and the control-plane runner"
cargo build --quiet --bin grafana-cloud-operator
cargo build --quiet -p grafana-cloud-simulator --bin grafana-cloud-simulator
cargo build --quiet -p testenv --bin gco-control-plane

wait_for_line() { # file, text, seconds
  for _ in $(seq 1 "$(( $3 * 5 ))"); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "timed out waiting for '$2' in $1:" >&2; tail -n 20 "$1" >&2; return 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "Starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1"
target/debug/gco-control-plane --crds crds --kubeconfig "${KUBECONFIG}" >"${state}/control-plane.log" 2>&1 &
pids+=($!)
wait_for_line "${state}/control-plane.log" '^ready' 120

step "Starting the grafana.com simulator"
sim_port="$(free_port)"
target/debug/grafana-cloud-simulator --listen "127.0.0.1:${sim_port}" --org "${DEMO_ORG}=${DEMO_TOKEN}" \
  --readiness-delay 3s >"${state}/simulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:${sim_port}/_sim/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

step "Starting the operator"
target/debug/grafana-cloud-operator run --grafana-api-url "http://127.0.0.1:${sim_port}/api" \
  --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 >"${state}/operator.log" 2>&1 &
pids+=($!)

step "Applying deploy/examples (the credentials Secret gets the simulator's demo token)"
kubectl apply -f deploy/examples/00-namespace.yaml
kubectl -n observability create secret generic grafana-cloud-credentials \
  --from-literal=token="${DEMO_TOKEN}" --from-literal=orgSlug="${DEMO_ORG}"
for file in deploy/examples/*.yaml; do
  case "${file}" in *00-namespace.yaml|*credentials-secret.yaml) continue ;; esac
  kubectl apply -f "${file}"
done

step "Waiting for every resource to become Ready"
kubectl -n observability wait --for=condition=Ready --timeout=120s grafanacloud --all

step "kubectl get grafanacloud -n observability"
kubectl -n observability get grafanacloud
step "Conditions"
kubectl -n observability get grafanacloud \
  -o custom-columns='KIND:.kind,NAME:.metadata.name,READY:.status.conditions[0].status,REASON:.status.conditions[0].reason,MESSAGE:.status.conditions[0].message'
step "Secrets written by the operator (values shown by key and size only)"
kubectl -n observability get secrets -l app.kubernetes.io/managed-by=grafana-cloud-operator \
  -o go-template='{{range .items}}{{.metadata.name}}:{{range $k, $v := .data}} {{$k}}({{len $v}}b){{end}}{{"\n"}}{{end}}'

step "Stack team-a: its plugins, connections and delete protection, from status"
kubectl -n observability get grafanastack team-a -o jsonpath='{range .status.plugins[*]}plugin {.slug} {.version} (managed: {.managed}){"\n"}{end}otlpHttpUrl: {.status.connections.otlpHttpUrl}{"\n"}influxUrl: {.status.connections.influxUrl}{"\n"}deleteProtection: {.status.deleteProtection}{"\n"}'

step "The Grafana Alloy config in Secret team-a-alloy (the token masked)"
token="$(kubectl -n observability get secret team-a-alloy -o jsonpath='{.data.token}' | base64 -d)"
kubectl -n observability get secret team-a-alloy -o jsonpath='{.data.config\.alloy}' | base64 -d \
  | sed "s/${token}/<the token, ${#token} characters>/g"

echo
echo "The control plane, simulator and operator are running. Try:"
echo "  export KUBECONFIG=${KUBECONFIG}"
echo "  kubectl -n observability describe grafanastack team-a"
if [[ "${DEMO_EXIT:-0}" == "1" ]]; then exit 0; fi
echo "Press Ctrl-C to stop."
while true; do sleep 3600; done
