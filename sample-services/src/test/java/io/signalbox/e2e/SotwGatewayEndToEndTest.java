package io.signalbox.e2e;

import io.signalbox.testing.EnvoyProcess;

/** The gateway contract with Envoy on state-of-the-world ADS. */
class SotwGatewayEndToEndTest extends GatewayEndToEndContract {
  @Override
  EnvoyProcess.XdsMode mode() {
    return EnvoyProcess.XdsMode.SOTW;
  }
}
