#!/usr/bin/env bash
# The local gateway demo: a Signalbox control plane, a real Envoy fed by it over ADS, and sample services that
# register themselves (two instances of `users`, two of `orders`). Prints the curl lines to try, then runs until
# Ctrl-C. With --check it verifies that both services answer through Envoy and exits (used by CI-like smoke runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GRPC_PORT="${SIGNALBOX_GRPC_PORT:-18000}"
GATEWAY_PORT="${SIGNALBOX_GATEWAY_PORT:-10000}"
ADMIN_PORT="${SIGNALBOX_ENVOY_ADMIN_PORT:-9901}"
CHECK_ONLY=false
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=true

RUN_DIR="$(pwd)/.signalbox/demo"
mkdir -p "$RUN_DIR"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "Installing Envoy 1.40.0 (cached after the first run)"
ENVOY_BIN="$(envoy/install-envoy.sh | tail -n 1)"

say "Building Signalbox (first run downloads dependencies)"
mvn -B -q --no-transfer-progress -DskipTests install
classpath() {
  mvn -B -q --no-transfer-progress -pl "$1" dependency:build-classpath -Dmdep.outputFile="$RUN_DIR/$1.classpath" >/dev/null
  echo "$1/target/classes:$(cat "$RUN_DIR/$1.classpath")"
}
CP_SERVER="$(classpath control-plane)"
CP_SAMPLES="$(classpath sample-services)"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Starting the control plane on :$GRPC_PORT (registry API + xDS); logs in $RUN_DIR"
java -cp "$CP_SERVER" io.signalbox.server.SignalboxMain --grpc-port "$GRPC_PORT" --gateway-port "$GATEWAY_PORT" \
  >"$RUN_DIR/control-plane.log" 2>&1 &
PIDS+=($!)

say "Starting Envoy (gateway on :$GATEWAY_PORT, admin on 127.0.0.1:$ADMIN_PORT)"
sed -e "s/port_value: 18000/port_value: $GRPC_PORT/" -e "s/port_value: 9901/port_value: $ADMIN_PORT/" \
  envoy/bootstrap/edge-gateway.yaml >"$RUN_DIR/envoy-bootstrap.yaml"
"$ENVOY_BIN" -c "$RUN_DIR/envoy-bootstrap.yaml" --disable-hot-restart --concurrency 1 \
  >"$RUN_DIR/envoy.log" 2>&1 &
PIDS+=($!)

say "Starting sample services: users x2, orders x2"
for service in users orders; do
  for n in 1 2; do
    java -cp "$CP_SAMPLES" io.signalbox.samples.SampleServiceMain --service "$service" \
      --instance-id "$service-$n" --control-plane "127.0.0.1:$GRPC_PORT" >"$RUN_DIR/$service-$n.log" 2>&1 &
    PIDS+=($!)
  done
done

say "Waiting for both services to answer through Envoy"
for service in users orders; do
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$GATEWAY_PORT/$service" >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/$service" >/dev/null || {
    echo "'$service' did not become reachable through Envoy; see the logs in $RUN_DIR" >&2; exit 1; }
done

cat <<MSG

Signalbox demo is up. Try:

  curl -s http://127.0.0.1:$GATEWAY_PORT/users/42        # answered by users-1 or users-2, round robin
  curl -s http://127.0.0.1:$GATEWAY_PORT/orders/7        # answered by orders-1 or orders-2
  curl -s http://127.0.0.1:$GATEWAY_PORT/nothing-here -o /dev/null -w '%{http_code}\n'   # 404: no route
  curl -s http://127.0.0.1:$ADMIN_PORT/config_dump | less   # what Envoy was sent

Logs: $RUN_DIR/*.log. Stop with Ctrl-C.
MSG

if $CHECK_ONLY; then
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/users/42"; echo
  curl -fsS "http://127.0.0.1:$GATEWAY_PORT/orders/7"; echo
  exit 0
fi
wait
