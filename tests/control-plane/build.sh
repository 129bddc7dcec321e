#!/usr/bin/env bash
# Builds etcd, kube-apiserver and kube-controller-manager from the Go module
# proxy into a versioned cache directory, and prints that bin directory on its
# last line:
#
#   BIN=$(tests/control-plane/build.sh | tail -1)
#
# If the binaries are already cached, it exits at once. Environment:
#   GCO_CACHE_DIR   cache root (default: $HOME/.cache/grafana-cloud-operator)
#   GO_BUILD_PARALLELISM   value for `go build -p` (default: 2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_root="${GCO_CACHE_DIR:-$HOME/.cache/grafana-cloud-operator}/control-plane"
name="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}"
bin="$cache_root/$name/bin"
binaries=(etcd kube-apiserver kube-controller-manager)

log() { printf 'control-plane: %s\n' "$*" >&2; }

have_all() {
  local b
  for b in "${binaries[@]}"; do
    [[ -x "$bin/$b" ]] || return 1
  done
}

if have_all; then
  log "cached binaries found"
  echo "$bin"
  exit 0
fi

# One build at a time per version; a waiting caller then finds the cache filled.
mkdir -p "$cache_root"
exec 9>"$cache_root/$name.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it"
  flock 9
fi
if have_all; then
  log "cached binaries found"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }

export CGO_ENABLED=0
export GOTOOLCHAIN=local
export GOFLAGS="-trimpath -buildvcs=false -mod=mod"
parallelism="${GO_BUILD_PARALLELISM:-2}"

work="$cache_root/$name/work"
rm -rf "$work"
mkdir -p "$work/kube" "$work/etcd" "$bin"
staging="$(mktemp -d "$cache_root/$name/bin.tmp.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

go_directive() { awk '$1 == "go" { print $2; exit }' "$1"; }

# --- kube-apiserver and kube-controller-manager -----------------------------
log "downloading k8s.io/kubernetes@$K8S_VERSION"
k8s_gomod="$(cd "$work/kube" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$k8s_gomod" ]] || { log "could not locate go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }

# Staging modules are published as k8s.io/<name> v0.<minor>.<patch>.
staging_version="v0.${K8S_VERSION#v1.}"
staging_modules="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\/src\// { print $1 }' "$k8s_gomod" | sort -u)"
[[ -n "$staging_modules" ]] || { log "no staging modules found in $k8s_gomod"; exit 1; }

{
  echo "module gco.local/control-plane/kube"
  echo
  echo "go $(go_directive "$k8s_gomod")"
  awk '$1 == "godebug" { print }' "$k8s_gomod"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "tool ("
  echo "	k8s.io/kubernetes/cmd/kube-apiserver"
  echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
  echo ")"
  echo
  echo "replace ("
  for m in $staging_modules; do
    printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"
  done
  echo ")"
} >"$work/kube/go.mod"
log "wrapper module: $(wc -l <<<"$staging_modules") staging modules replaced with $staging_version"

# Stamp the version the binaries report (/version, kubectl version).
minor="${K8S_VERSION#v1.}"
minor="${minor%%.*}"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean"
done

log "building kube-apiserver and kube-controller-manager (go build -p $parallelism)"
(cd "$work/kube" && go build -p "$parallelism" -ldflags "${ldflags# }" -o "$staging/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)

# --- etcd --------------------------------------------------------------------
log "building etcd from go.etcd.io/etcd/server/v3@$ETCD_VERSION"
etcd_gomod="$(cd "$work/etcd" && go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$etcd_gomod" ]] || { log "could not locate go.mod of etcd server $ETCD_VERSION"; exit 1; }
{
  echo "module gco.local/control-plane/etcd"
  echo
  echo "go $(go_directive "$etcd_gomod")"
  echo
  echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  echo
  echo "tool go.etcd.io/etcd/server/v3"
} >"$work/etcd/go.mod"
(cd "$work/etcd" && go build -p "$parallelism" -ldflags "-X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
  -o "$staging/etcd" go.etcd.io/etcd/server/v3)

for b in "${binaries[@]}"; do
  [[ -x "$staging/$b" ]] || { log "missing $b after build"; exit 1; }
  mv -f "$staging/$b" "$bin/$b"
done
log "built into $bin"
echo "$bin"
