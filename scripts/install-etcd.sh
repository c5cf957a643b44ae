#!/usr/bin/env bash
# Installs etcd (Debian's etcd-server package) for the etcd-backend tests and prints the binary's path as the last
# line of stdout. Does nothing but print the path when /usr/bin/etcd exists. Progress goes to stderr.
set -euo pipefail

binary="/usr/bin/etcd"

log() { echo "install-etcd: $*" >&2; }

if [[ -x "${binary}" ]]; then
  log "etcd already installed at ${binary}"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get on this host: install etcd 3.4 or newer so that ${binary} exists"
    exit 1
  fi
  sudo_if_needed=()
  if [[ "$(id -u)" != "0" ]]; then
    sudo_if_needed=(sudo)
  fi
  log "installing etcd-server with apt-get"
  "${sudo_if_needed[@]}" apt-get update >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y --no-install-recommends etcd-server >&2
  # The package also enables a system etcd on 2379; the tests start their own on free ports and need none.
  if command -v systemctl >/dev/null 2>&1; then
    "${sudo_if_needed[@]}" systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi
"${binary}" --version >&2
echo "${binary}"
