#!/usr/bin/env bash
# Mints a JWT for the running demo (scripts/demo.sh), signed with the demo issuer's key. Extra options go to the
# minter, e.g. --subject bob --scope "orders:read" --ttl-seconds 60; see --help.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUN_DIR="$(pwd)/.signalbox/demo"
[[ -f "$RUN_DIR/jwt/signing-key.jwk" && -f "$RUN_DIR/sample-services.classpath" ]] || {
  echo "no demo key yet: start scripts/demo.sh first" >&2; exit 1; }
exec java -cp "sample-services/target/classes:$(cat "$RUN_DIR/sample-services.classpath")" \
  io.signalbox.samples.DemoTokens mint --dir "$RUN_DIR/jwt" "$@"
