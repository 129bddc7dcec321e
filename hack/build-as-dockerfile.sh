#!/usr/bin/env bash
# Runs the exact `cargo build` command of the Dockerfile's build stage, from the repository
# root. CI has no Docker engine, so this proves the image's build step works with the
# committed Cargo.lock (--locked). The command is read from the Dockerfile, so it cannot drift.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command_line="$(grep -oE 'cargo build[^\\&]*' "${root}/Dockerfile" | head -n1 | sed 's/[[:space:]]*$//')"
if [[ -z "${command_line}" ]]; then
  echo "no cargo build command found in ${root}/Dockerfile" >&2
  exit 1
fi
read -ra words <<<"${command_line}"
echo "running the Dockerfile's build command: ${command_line}" >&2
cd "${root}"
"${words[@]}"
