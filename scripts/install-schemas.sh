#!/usr/bin/env bash
# Installs what DeploySchemasTest checks deploy/ with, pinned, into a per-user cache keyed by the versions, and
# prints the install directory as the last line of stdout (progress goes to stderr):
#   bin/check-kubernetes FILE...  every document against the Kubernetes ${KUBERNETES_VERSION} schemas, strict (unknown
#                                 fields fail; so does a kind without a schema): PyPI kubernetes-validate, which ships
#                                 the schemas in its wheel
#   bin/check-compose FILE...     against the Compose Specification schema that `docker compose` itself validates with
#                                 (schema/compose-spec.json of the Go module github.com/compose-spec/compose-go/v2),
#                                 with PyPI check-jsonschema
# Both run offline once installed. `--installed` installs nothing: it prints the directory if the tools are there
# (their files, and a Python that imports them), else exits 1; DeploySchemasTest finds them that way.
set -euo pipefail

KUBERNETES_VERSION="1.31.0"
KUBERNETES_VALIDATE_VERSION="1.37.0"
CHECK_JSONSCHEMA_VERSION="0.39.0"
COMPOSE_GO_VERSION="v2.16.2"
COMPOSE_SPEC_SHA256="f266dcbb043229405d7cedd5aec918f9102c2b3d5e3850808fdd8edd564a43ff"
# Every Python package, dependencies included, at an exact version: nothing floats between machines.
PYTHON_PACKAGES=(
  "kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}"
  "check-jsonschema==${CHECK_JSONSCHEMA_VERSION}"
  attrs==26.1.0 certifi==2026.10.19.post1 charset-normalizer==3.5.3 click==8.5.1 idna==3.20
  importlib_resources==7.1.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1 packaging==26.4 PyYAML==6.0.4
  referencing==0.37.0 regress==2026.9.1 requests==2.34.2 rpds-py==2026.9.1 ruamel.yaml==0.19.1
  typing_extensions==4.16.0 urllib3==2.8.0
)

cache_root="${SIGNALBOX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/signalbox}"
key="k8s${KUBERNETES_VERSION}-kv${KUBERNETES_VALIDATE_VERSION}-compose${COMPOSE_GO_VERSION}-cj${CHECK_JSONSCHEMA_VERSION}"
install_dir="${cache_root}/deploy-schemas-${key}"

log() { echo "install-schemas: $*" >&2; }

# Installed means: both checkers accept a valid document (which needs Python, the packages and the schemas).
tools_work() {
  local dir="$1" probe
  [[ -x "${dir}/bin/check-kubernetes" && -x "${dir}/bin/check-compose" ]] || return 1
  probe="$(mktemp -d)"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\n' >"${probe}/configmap.yaml"
  printf 'services:\n  probe: {image: busybox}\n' >"${probe}/compose.yaml"
  local ok=0
  "${dir}/bin/check-kubernetes" "${probe}/configmap.yaml" >/dev/null 2>&1 \
    && "${dir}/bin/check-compose" "${probe}/compose.yaml" >/dev/null 2>&1 || ok=1
  rm -rf "${probe}"
  return "${ok}"
}

# The quick look of --installed (the tests run it): the files are there and the venv's Python imports both tools.
tools_present() {
  local dir="$1"
  [[ -x "${dir}/bin/check-kubernetes" && -x "${dir}/bin/check-compose" && -f "${dir}/compose-spec.json" ]] \
    && "${dir}/venv/bin/python" -c 'import kubernetes_validate.utils, check_jsonschema.cli' >/dev/null 2>&1
}

if [[ "${1:-}" == "--installed" ]]; then
  if tools_present "${install_dir}"; then
    echo "${install_dir}"
    exit 0
  fi
  log "not installed (or not working): ${install_dir}; run scripts/install-schemas.sh"
  exit 1
elif [[ $# -gt 0 ]]; then
  echo "usage: scripts/install-schemas.sh [--installed]" >&2
  exit 2
fi

if tools_work "${install_dir}"; then
  log "already installed at ${install_dir}"
  echo "${install_dir}"
  exit 0
fi

command -v python3 >/dev/null || { log "needs python3 (3.9 or newer) for the validators"; exit 1; }
command -v go >/dev/null || { log "needs the go command to fetch the Compose schema from the Go module proxy"; exit 1; }

log "installing into ${install_dir}"
# Install into a sibling staging dir and rename it into place, so an interrupted or concurrent run never leaves a
# half-populated cache directory that later looks installed. The venv is only ever run as venv/bin/python -m ...,
# which works after the rename (its console scripts would not).
mkdir -p "${cache_root}"
staging="$(mktemp -d "${cache_root}/.deploy-schemas-${key}.XXXXXX")"
trap 'rm -rf "${staging}"' EXIT

log "Python venv: ${PYTHON_PACKAGES[*]:0:2} (+ pinned dependencies)"
python3 -m venv "${staging}/venv"
PIP_ROOT_USER_ACTION=ignore "${staging}/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --no-cache-dir "${PYTHON_PACKAGES[@]}" >&2

log "Compose Specification schema: github.com/compose-spec/compose-go/v2@${COMPOSE_GO_VERSION} (Go module proxy)"
module_dir="$(cd "${staging}" && GOFLAGS=-mod=mod go mod download -json \
  "github.com/compose-spec/compose-go/v2@${COMPOSE_GO_VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
cp "${module_dir}/schema/compose-spec.json" "${staging}/compose-spec.json"
chmod u+w "${staging}/compose-spec.json"
if ! echo "${COMPOSE_SPEC_SHA256}  ${staging}/compose-spec.json" | sha256sum --check --quiet >&2; then
  log "compose-spec.json of compose-go ${COMPOSE_GO_VERSION} does not have the pinned SHA-256"
  exit 1
fi

mkdir -p "${staging}/bin"
cat >"${staging}/bin/check-kubernetes" <<EOF
#!/usr/bin/env bash
# Checks every document of each Kubernetes manifest against the Kubernetes ${KUBERNETES_VERSION} schemas in strict mode:
# a wrong type, a missing required field or an unknown field is an ERROR naming the field's path. A kind without a
# schema (a typo, or an API this version lacks) is only a WARN to kubernetes-validate; here it fails too.
set -uo pipefail
dir="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")/.." && pwd -P)"
output="\$("\${dir}/venv/bin/python" -m kubernetes_validate --strict --quiet -k ${KUBERNETES_VERSION} "\$@" 2>&1)"
status=\$?
[[ -z "\${output}" ]] || echo "\${output}"
if [[ \${status} -eq 0 && -n "\${output}" ]]; then
  status=1
fi
exit "\${status}"
EOF
cat >"${staging}/bin/check-compose" <<'EOF'
#!/usr/bin/env bash
# Checks Compose files against the Compose Specification schema (unknown keys, wrong types and bad values fail,
# naming the path).
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
exec "${dir}/venv/bin/python" -m check_jsonschema --schemafile "${dir}/compose-spec.json" "$@"
EOF
chmod +x "${staging}/bin/check-kubernetes" "${staging}/bin/check-compose"

if ! tools_work "${staging}"; then
  log "the installed validators do not run; see the output above"
  exit 1
fi
rm -rf "${install_dir}"
if ! mv -T "${staging}" "${install_dir}" 2>/dev/null; then
  log "another install finished first; using it"
fi
if ! tools_work "${install_dir}"; then
  log "installed validators do not run: ${install_dir}"
  exit 1
fi
log "installed kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} (Kubernetes ${KUBERNETES_VERSION} schemas),"\
" check-jsonschema ${CHECK_JSONSCHEMA_VERSION}, compose-spec.json of compose-go ${COMPOSE_GO_VERSION}"
echo "${install_dir}"
