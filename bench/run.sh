#!/usr/bin/env bash
# Builds Signalbox and runs one benchmark of the harness in bench/ (see bench/README.md).
#
#   bash bench/run.sh register-latency [options]   # registration -> first 200 through a real Envoy
#   bash bench/run.sh delta-fanout [options]       # delta or SotW xDS fan-out to N simulated clients + control-plane heap
#   bash bench/run.sh policy-throughput [options]  # req/s through Envoy: JWT + local rate limit vs. no policy
#   bash bench/run.sh ratelimit-service [options]  # built-in rate-limit service: decisions/s, p50/p99 at 2,000/s
#   bash bench/run.sh store [options]              # registrations/s embedded store vs. in memory; restart after kill -9
#   bash bench/run.sh hung-memory [options]        # control-plane heap after N ~100 KB route changes, with and without never-reading xDS clients
#   bash bench/run.sh help [command]
#
# Environment: BENCH_SKIP_BUILD=1 reuses the last build; BENCH_JAVA_OPTS adds options for the bench JVM;
# ENVOY_BIN points at an Envoy binary (otherwise envoy/install-envoy.sh provides one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd -P)"
RUN_DIR="$ROOT/bench/target"
mkdir -p "$RUN_DIR"

if [[ "${BENCH_SKIP_BUILD:-0}" != "1" || ! -s "$RUN_DIR/bench.classpath" ]]; then
  echo "==> building (mvn -B -q -DskipTests install)" >&2
  mvn -B -q --no-transfer-progress -DskipTests install
  mvn -B -q --no-transfer-progress -pl bench dependency:build-classpath \
    -Dmdep.outputFile="$RUN_DIR/bench.classpath" >/dev/null
fi

if [[ -z "${ENVOY_BIN:-}" ]]; then
  ENVOY_BIN="$(bash envoy/install-envoy.sh | tail -n 1)"
fi
export ENVOY_BIN

# The HTTP load generator for policy-throughput: hey, pinned, installed once per user with `go install`.
HEY_VERSION="v0.1.5"
if [[ -z "${HEY_BIN:-}" && "${1:-}" == "policy-throughput" ]]; then
  HEY_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/signalbox/hey-$HEY_VERSION"
  if [[ ! -x "$HEY_DIR/hey" ]]; then
    echo "==> installing hey $HEY_VERSION into $HEY_DIR (go install)" >&2
    GOBIN="$HEY_DIR" go install "github.com/rakyll/hey@$HEY_VERSION" >&2
  fi
  HEY_BIN="$HEY_DIR/hey"
fi
export HEY_BIN="${HEY_BIN:-hey}"

CLASSPATH_BENCH="$ROOT/bench/target/classes:$(cat "$RUN_DIR/bench.classpath")"
# Run from bench/ so Envoy work dirs land in bench/target/envoy-runs and logs in bench/target/bench-runs.
cd "$ROOT/bench"
# shellcheck disable=SC2086
exec java ${BENCH_JAVA_OPTS:-} \
  -Dsignalbox.repo.root="$ROOT" \
  -Dlogback.configurationFile="$ROOT/bench/src/main/resources/bench-logback.xml" \
  -cp "$CLASSPATH_BENCH" io.signalbox.bench.BenchMain "$@"
