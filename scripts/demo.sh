#!/usr/bin/env bash
# The local gateway demo: a Signalbox control plane, a real Envoy fed by it over ADS, and sample services that
# register themselves (two instances of `users`, two of `orders`). `users` requires a JWT from the demo issuer
# (mint one with scripts/demo-token.sh); `orders` has a fleet-wide limit of 10 requests per minute. Everything talks
# to the control plane over mutual TLS, with certificates from `signalbox ca` (a CA kept in the run directory).
# Prints the curl lines to try, then runs until Ctrl-C. With --check it verifies all of that through Envoy and exits.
# With --mesh it adds sidecar mode: `inventory` and `shop`, each with its own sidecar Envoy; shop calls inventory
# through its sidecar over mutual TLS with workload certificates, and inventory allows only shop.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

GRPC_PORT="${SIGNALBOX_GRPC_PORT:-18000}"
GATEWAY_PORT="${SIGNALBOX_GATEWAY_PORT:-10000}"
ADMIN_PORT="${SIGNALBOX_ENVOY_ADMIN_PORT:-9901}"
CHECK_ONLY=false
MESH=false
for arg in "$@"; do
  case "$arg" in
    --check) CHECK_ONLY=true ;;
    --mesh) MESH=true ;;
    *) echo "usage: scripts/demo.sh [--mesh] [--check]" >&2; exit 2 ;;
  esac
done
# Sidecar mode (--mesh): the sidecars' outbound ports (where shop and inventory call out), their inbound ports
# (where the other sidecars and the edge reach them), and their admin ports.
SHOP_OUTBOUND=15001
INVENTORY_OUTBOUND=15002
SHOP_INBOUND=15006
INVENTORY_INBOUND=15007
SHOP_ADMIN=9902
INVENTORY_ADMIN=9903

RUN_DIR="$(pwd)/.signalbox/demo"
mkdir -p "$RUN_DIR"
# Each run starts a fleet of its own: the registry a previous run left holds that run's instances, long gone, and
# a restored lease outlives a restart by its TTL (by design), so Envoy would be sent their dead ports meanwhile.
rm -rf "$RUN_DIR/data"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "Installing Envoy 1.40.0 (cached after the first run)"
ENVOY_BIN="$(envoy/install-envoy.sh | tail -n 1)"

say "Building Signalbox and its release archive (first run downloads dependencies)"
mvn -B -q --no-transfer-progress -DskipTests -P '!image' install   # the container image is not needed here
# The control plane runs from the release archive, unpacked as an operator would (bin/signalbox, bin/signalboxctl);
# the sample services are not part of the release and run from their build.
DIST="$RUN_DIR/signalbox"
rm -rf "$DIST" && mkdir -p "$DIST"
tar -xzf distribution/target/signalbox-*.tar.gz -C "$DIST" --strip-components=1
mvn -B -q --no-transfer-progress -pl sample-services dependency:build-classpath \
  -Dmdep.outputFile="$RUN_DIR/sample-services.classpath" >/dev/null
CP_SAMPLES="sample-services/target/classes:$(cat "$RUN_DIR/sample-services.classpath")"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

signalbox() { "$DIST/bin/signalbox" "$@"; }
PKI="$RUN_DIR/pki"
say "Issuing mutual-TLS certificates with signalbox ca (CA and certificates in $PKI)"
# The CA is made once and kept; certificates are issued anew on every run (that is also how they are rotated).
[[ -f "$PKI/ca.pem" ]] || signalbox ca init --dir "$PKI" >/dev/null
# The control plane: the DNS name the Envoy bootstrap requires of it, and the address the SDKs and signalboxctl dial.
signalbox ca issue --dir "$PKI" --name signalbox --identity spiffe://signalbox.local/control-plane \
  --dns signalbox.signalbox.local --dns localhost --ip 127.0.0.1 >/dev/null
signalbox ca issue --dir "$PKI" --name envoy --identity spiffe://signalbox.local/envoy/edge >/dev/null
for service in users orders; do
  signalbox ca issue --dir "$PKI" --name "$service" --identity "spiffe://signalbox.local/service/$service" >/dev/null
done
signalbox ca issue --dir "$PKI" --name operator --identity spiffe://signalbox.local/operator/demo >/dev/null
if $MESH; then
  for service in shop inventory; do
    signalbox ca issue --dir "$PKI" --name "$service" --identity "spiffe://signalbox.local/service/$service" >/dev/null
    # The sidecar's identity towards the control plane: the convention lets it fetch the group sidecar/SERVICE.
    signalbox ca issue --dir "$PKI" --name "$service-sidecar" \
      --identity "spiffe://signalbox.local/envoy/sidecar/$service" >/dev/null
  done
fi

say "Making the demo JWT issuer's signing key (kept in $RUN_DIR/jwt)"
java -cp "$CP_SAMPLES" io.signalbox.samples.DemoTokens init --dir "$RUN_DIR/jwt" >/dev/null

# The operator's gateway settings; edit the file while the demo runs and Signalbox reloads it.
cat >"$RUN_DIR/gateway.yaml" <<YAML
listeners:
  - {name: http, port: $GATEWAY_PORT}
jwtProviders:
  - name: demo
    issuer: https://demo.signalbox.local
    audiences: [signalbox-demo]
    jwks: {file: jwt/jwks.json}
# Services and the edge Envoy are allowed by the convention (spiffe://signalbox.local/service/NAME registers NAME,
# .../envoy/GROUP fetches GROUP); the demo operator may also drain, evict and pause.
access:
  operators:
    - {identity: "spiffe://signalbox.local/operator/demo", role: operator}
# The sample services listen on this machine. A gateway refuses loopback upstreams unless allowed; Envoy's admin
# port stays refused.
upstreams:
  allowCidrs: [127.0.0.0/8]
  denyPorts: [9901, $ADMIN_PORT]
# Sidecar mode (--mesh): shop and inventory share this host, so their sidecars call out on ports of their own.
sidecars:
  outboundPorts: {shop: $SHOP_OUTBOUND, inventory: $INVENTORY_OUTBOUND}
YAML

say "Starting the control plane on :$GRPC_PORT (registry API + xDS, mutual TLS); logs in $RUN_DIR"
# bin/signalbox execs java, so $! is the control plane itself.
"$DIST/bin/signalbox" --grpc-port "$GRPC_PORT" --config "$RUN_DIR/gateway.yaml" \
  --data-dir "$RUN_DIR/data" \
  --tls-cert "$PKI/signalbox.pem" --tls-key "$PKI/signalbox-key.pem" --tls-ca "$PKI/ca.pem" \
  >"$RUN_DIR/control-plane.log" 2>&1 &
PIDS+=($!)

say "Starting Envoy (gateway on :$GATEWAY_PORT, admin on 127.0.0.1:$ADMIN_PORT)"
# The mutual-TLS bootstrap, with this run's ports and certificate files (it expects them in /etc/signalbox/tls/).
sed -e "s/port_value: 18000/port_value: $GRPC_PORT/" -e "s/port_value: 9901/port_value: $ADMIN_PORT/" \
  -e "s|/etc/signalbox/tls/|$PKI/|g" envoy/bootstrap/edge-gateway-mtls.yaml >"$RUN_DIR/envoy-bootstrap.yaml"
"$ENVOY_BIN" -c "$RUN_DIR/envoy-bootstrap.yaml" --disable-hot-restart --concurrency 1 \
  >"$RUN_DIR/envoy.log" 2>&1 &
PIDS+=($!)

say "Starting sample services: users x2 (JWT required), orders x2 (10 requests/minute across the fleet)"
POLICY_users=(--jwt-provider demo --forward-claim sub=x-demo-user)
POLICY_orders=(--rate-limit 10/minute --rate-limit-global)
for service in users orders; do
  policy="POLICY_${service}[@]"
  for n in 1 2; do
    java -cp "$CP_SAMPLES" io.signalbox.samples.SampleServiceMain --service "$service" \
      --instance-id "$service-$n" --control-plane "127.0.0.1:$GRPC_PORT" "${!policy}" \
      --tls-cert "$PKI/$service.pem" --tls-key "$PKI/$service-key.pem" --tls-ca "$PKI/ca.pem" \
      >"$RUN_DIR/$service-$n.log" 2>&1 &
    PIDS+=($!)
  done
done

if $MESH; then
  say "Sidecar mode: inventory (allows only shop) and shop (calls inventory), each beside its own sidecar Envoy"
  for service in shop inventory; do
    upper="${service^^}"
    inbound_var="${upper}_INBOUND"; admin_var="${upper}_ADMIN"
    args=(--sidecar-port "${!inbound_var}")
    [[ "$service" == inventory ]] && args+=(--allowed-caller shop)
    [[ "$service" == shop ]] && args+=(--calls inventory)
    java -cp "$CP_SAMPLES" io.signalbox.samples.SampleServiceMain --service "$service" \
      --instance-id "$service-1" --control-plane "127.0.0.1:$GRPC_PORT" "${args[@]}" \
      --tls-cert "$PKI/$service.pem" --tls-key "$PKI/$service-key.pem" --tls-ca "$PKI/ca.pem" \
      >"$RUN_DIR/$service-1.log" 2>&1 &
    PIDS+=($!)
    sed -e "s/port_value: 18000/port_value: $GRPC_PORT/" -e "s/port_value: 9902/port_value: ${!admin_var}/" \
      -e "s/id: users-sidecar-1/id: $service-sidecar-1/" -e "s/cluster: users/cluster: $service/" \
      -e "s/signalbox.service: users/signalbox.service: $service/" \
      -e "s|/etc/signalbox/tls/sidecar|$PKI/$service-sidecar|g" -e "s|/etc/signalbox/tls/|$PKI/|g" \
      envoy/bootstrap/sidecar-mtls.yaml >"$RUN_DIR/$service-sidecar-bootstrap.yaml"
    "$ENVOY_BIN" -c "$RUN_DIR/$service-sidecar-bootstrap.yaml" --disable-hot-restart --concurrency 1 \
      >"$RUN_DIR/$service-sidecar.log" 2>&1 &
    PIDS+=($!)
  done
fi

TOKEN="$(scripts/demo-token.sh)"
say "Waiting for both services to answer through Envoy"
for service in users orders; do
  for _ in $(seq 1 120); do
    if curl -fsS -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$GATEWAY_PORT/$service" >/dev/null 2>&1; then
      break
    fi
    sleep 0.5
  done
  curl -fsS -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$GATEWAY_PORT/$service" >/dev/null || {
    echo "'$service' did not become reachable through Envoy; see the logs in $RUN_DIR" >&2; exit 1; }
done

cat <<MSG

Signalbox demo is up. Try:

  curl -si http://127.0.0.1:$GATEWAY_PORT/users/42                  # 401: users requires a JWT
  TOKEN=\$(scripts/demo-token.sh)                                    # mint one (sub=alice, 1 h)
  curl -s -H "authorization: Bearer \$TOKEN" http://127.0.0.1:$GATEWAY_PORT/users/42
                                       # 200 from users-1 or users-2; the backend sees x-demo-user: alice
  for i in \$(seq 12); do curl -s -o /dev/null -w '%{http_code} ' http://127.0.0.1:$GATEWAY_PORT/orders/7; done; echo
                                       # 200 until 10 requests this minute, then 429 (x-ratelimit-* headers)
  curl -s http://127.0.0.1:$GATEWAY_PORT/nothing-here -o /dev/null -w '%{http_code}\n'   # 404: no route
  curl -s http://127.0.0.1:$ADMIN_PORT/config_dump | less            # what Envoy was sent

  # signalboxctl needs the operator's certificate (spiffe://signalbox.local/operator/demo, role operator):
  export SIGNALBOX_CERT=$PKI/operator.pem SIGNALBOX_KEY=$PKI/operator-key.pem SIGNALBOX_CA=$PKI/ca.pem
  $DIST/bin/signalboxctl --admin 127.0.0.1:$((GRPC_PORT + 1)) proxies     # which Envoys, in sync or not
  $DIST/bin/signalboxctl --admin 127.0.0.1:$((GRPC_PORT + 1)) services    # instances, leases, routes, policies

Logs: $RUN_DIR/*.log. Stop with Ctrl-C.
MSG
if $MESH; then
  say "Waiting for shop's sidecar to reach inventory"
  for _ in $(seq 1 120); do
    curl -fsS -H 'host: inventory' "http://127.0.0.1:$SHOP_OUTBOUND/items" >/dev/null 2>&1 && break
    sleep 0.5
  done
  cat <<MSG
Sidecar mode (--mesh): shop and inventory each run beside their own sidecar Envoy (admin :$SHOP_ADMIN, :$INVENTORY_ADMIN).

  curl -s -H 'host: inventory' http://127.0.0.1:$SHOP_OUTBOUND/items   # shop calls inventory through its sidecar:
                                       # 200 over mutual TLS; inventory sees x-forwarded-client-cert URI=.../service/shop
  curl -s -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$GATEWAY_PORT/inventory
                                       # 403: the edge (spiffe://signalbox.local/envoy/edge) is not among inventory's callers
  curl -s http://127.0.0.1:$INVENTORY_INBOUND/items                   # refused: no workload certificate
  curl -s http://127.0.0.1:$SHOP_ADMIN/certs                          # shop's workload certificate (rotated at half-life)

MSG
fi

if $CHECK_ONLY; then
  status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
  fail() { echo "demo check failed: $*" >&2; exit 1; }
  [[ "$(status "http://127.0.0.1:$GATEWAY_PORT/users/42")" == 401 ]] || fail "users without a token is not 401"
  body="$(curl -fsS -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$GATEWAY_PORT/users/42")"
  echo "$body" >&2
  [[ "$body" == *'"x-demo-user"'* ]] || fail "users with a token did not forward the sub claim"
  codes=""
  for _ in $(seq 12); do codes+="$(status "http://127.0.0.1:$GATEWAY_PORT/orders/7") "; done
  echo "orders x12: $codes" >&2
  [[ "$codes" == *200* && "$codes" == *429* ]] || fail "orders was not limited to 10 requests per minute"
  ADMIN="127.0.0.1:$((GRPC_PORT + 1))"
  if env -u SIGNALBOX_CERT -u SIGNALBOX_KEY -u SIGNALBOX_CA "$DIST/bin/signalboxctl" --admin "$ADMIN" proxies \
    >/dev/null 2>&1; then fail "signalboxctl without a certificate was let in"; fi
  SIGNALBOX_CERT="$PKI/operator.pem" SIGNALBOX_KEY="$PKI/operator-key.pem" SIGNALBOX_CA="$PKI/ca.pem" \
    "$DIST/bin/signalboxctl" --admin "$ADMIN" proxies >&2 || fail "signalboxctl proxies with the operator's certificate failed"
  if $MESH; then
    body="$(curl -fsS -H 'host: inventory' "http://127.0.0.1:$SHOP_OUTBOUND/items")" \
      || fail "shop's sidecar did not reach inventory"
    echo "$body" >&2
    [[ "$body" == *'URI=spiffe://signalbox.local/service/shop'* ]] \
      || fail "inventory did not see shop's workload identity"
    [[ "$(status "http://127.0.0.1:$GATEWAY_PORT/inventory")" == 403 ]] \
      || fail "the edge, not among inventory's callers, was not refused with 403"
    if curl -s -o /dev/null "http://127.0.0.1:$INVENTORY_INBOUND/items"; then
      fail "a client without a workload certificate got an answer from inventory's sidecar"
    fi
  fi
  echo "demo check passed" >&2
  exit 0
fi
wait
