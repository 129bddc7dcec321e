#!/usr/bin/env bash
# Installs promtool, which checks and unit-tests the alert rules, into BIN_DIR (the first
# argument). It comes from Debian's prometheus package (2.42): the package is downloaded and
# only its promtool binary extracted, so no Prometheus server is installed or started.
# Running it again is a no-op when that promtool is already there.
set -euo pipefail

bin_dir="$1"
version="2.42.0"
if [[ -x "${bin_dir}/promtool" ]] && "${bin_dir}/promtool" --version 2>&1 | grep -q "version ${version}"; then
  exit 0
fi

mkdir -p "${bin_dir}"
work="$(mktemp -d "${bin_dir}/../promtool.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
echo "downloading Debian's prometheus package for promtool ${version}" >&2
download() { (cd "${work}" && apt-get download -qq "prometheus=${version}*" 2>/dev/null); }
if ! download; then
  apt-get update -qq >&2
  download
fi
dpkg-deb -x "${work}"/prometheus_*.deb "${work}/root"
install -m 0755 "${work}/root/usr/bin/promtool" "${bin_dir}/.promtool.partial"
mv "${bin_dir}/.promtool.partial" "${bin_dir}/promtool"
"${bin_dir}/promtool" --version >&2
