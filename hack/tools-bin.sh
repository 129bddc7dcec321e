#!/usr/bin/env bash
# Prints the directory holding the pinned kubectl, helm and hadolint: $GCO_TOOLS_BIN when
# set, otherwise the one hack/install-tools.sh installs into (installing them if missing).
set -euo pipefail
if [[ -n "${GCO_TOOLS_BIN:-}" ]]; then
  echo "${GCO_TOOLS_BIN}"
else
  "$(dirname "${BASH_SOURCE[0]}")/install-tools.sh" | tail -n1
fi
