package io.signalbox.e2e;

import io.signalbox.testing.EnvoyProcess;

/** The gateway contract with Envoy on delta ADS. */
class DeltaGatewayEndToEndTest extends GatewayEndToEndContract {
  @Override
  EnvoyProcess.XdsMode mode() {
    return EnvoyProcess.XdsMode.DELTA;
  }
}
