#!/usr/bin/env bash
# Copies the generated CRDs from crds/ into the Helm chart's crds/ directory, removing copies
# of CRDs that no longer exist. tests/packaging.rs fails when the copies are stale.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${root}/crds"
dest="${root}/charts/grafana-cloud-operator/crds"

mkdir -p "${dest}"
find "${dest}" -maxdepth 1 -type f -name '*.yaml' -delete
shopt -s nullglob
for crd in "${src}"/*.yaml; do
  cp "${crd}" "${dest}/"
done
echo "chart CRDs synced from crds/ ($(find "${dest}" -maxdepth 1 -name '*.yaml' | wc -l) files)"
