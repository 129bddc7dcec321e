#!/usr/bin/env bash
# Runs the Dockerfile's build step without a Docker engine: copies the files the Docker build
# context would contain (the working tree minus .dockerignore) to a scratch directory, and
# runs the exact `cargo build` command of the Dockerfile there. This proves the image builds
# from its context with the committed Cargo.lock (--locked). The command is read from the
# Dockerfile, so it cannot drift. The target directory is shared with the repository's.
#
# Usage: hack/build-as-dockerfile.sh   (prints the built binary's path on its last line)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command_line="$(grep -oE 'cargo build[^\\&]*' "${root}/Dockerfile" | head -n1 | sed 's/[[:space:]]*$//')"
if [[ -z "${command_line}" ]]; then
  echo "no cargo build command found in ${root}/Dockerfile" >&2
  exit 1
fi
read -ra words <<<"${command_line}"

context="$(mktemp -d -t gco-docker-context-XXXXXX)"
trap 'rm -rf "${context}"' EXIT

# Files Docker would send: everything in the tree (git's view: tracked plus untracked, not
# ignored), minus what .dockerignore excludes. Last matching pattern wins; "!" re-includes;
# a pattern that matches a directory excludes everything under it.
git -C "${root}" ls-files -z --cached --others --exclude-standard |
  python3 -c '
import os, re, shutil, sys

root, context = sys.argv[1], sys.argv[2]

def regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")

rules = []
with open(os.path.join(root, ".dockerignore")) as ignore:
    for line in ignore:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").lstrip("/"))
        rules.append((negate, regex(pattern)))

def excluded(path):
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negate, rule in rules:
        if any(rule.match(candidate) for candidate in candidates):
            result = not negate
    return result

for path in sys.stdin.buffer.read().decode().split("\0"):
    if not path or excluded(path) or not os.path.isfile(os.path.join(root, path)):
        continue
    destination = os.path.join(context, path)
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    shutil.copy2(os.path.join(root, path), destination)
' "${root}" "${context}"

echo "running the Dockerfile's build command in its build context: ${command_line}" >&2
(cd "${context}" && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${root}/target}" "${words[@]}" >&2)
echo "${CARGO_TARGET_DIR:-${root}/target}/release/grafana-cloud-operator"
