#!/bin/sh
# The `certificates` job of compose.yaml: a development CA (made once, kept in the volume) and the demo's mutual-TLS
# certificates, issued anew on every `docker compose up` (which is also how they are rotated). It runs `signalbox ca`
# from the control-plane image, then hands the files to uid 10001, as which every other container of the demo runs:
# private keys are owner-only. A local demo: the CA's own key sits in the same volume, which every container mounts.
set -eu

dir="${1:-/pki/tls}"
owner="${2:-10001:10001}"
signalbox() { "${SIGNALBOX:-/opt/signalbox/bin/signalbox}" "$@"; }

[ -f "$dir/ca.pem" ] || signalbox ca init --dir "$dir"
# The control plane: the name the services dial (signalbox:18000) and the one the edge bootstrap expects.
signalbox ca issue --dir "$dir" --name signalbox --identity spiffe://signalbox.local/control-plane \
  --dns signalbox --dns signalbox.signalbox.local --dns localhost --ip 127.0.0.1
# The edge Envoy fetches node group `edge`; each service registers under its own name (the identity convention).
signalbox ca issue --dir "$dir" --name envoy --identity spiffe://signalbox.local/envoy/edge
for service in users orders; do
  signalbox ca issue --dir "$dir" --name "$service" --identity "spiffe://signalbox.local/service/$service"
done
chown -R "$owner" "$dir"
