#!/usr/bin/env bash
# Runs every test: installs what the tests need (the Envoy and etcd binaries, the deploy/ schema validators), then
# the whole Maven build with its tests.
# This is the README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

envoy/install-envoy.sh >/dev/null
scripts/install-etcd.sh >/dev/null
scripts/install-schemas.sh >/dev/null
exec mvn -B --no-transfer-progress verify "$@"
