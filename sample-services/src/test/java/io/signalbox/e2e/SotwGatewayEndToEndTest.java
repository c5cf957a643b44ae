package io.signalbox.e2e;

import io.signalbox.testing.EnvoyProcess;
import java.util.function.UnaryOperator;

/**
 * The gateway contract with Envoy on state-of-the-world ADS, sending its node in every request
 * (Envoy's default, {@code set_node_on_first_message_only: false}): the shipped bootstraps send it
 * in each stream's first request only, which every other test with Envoy runs, and a bootstrap of
 * an operator's own may not.
 */
class SotwGatewayEndToEndTest extends GatewayEndToEndContract {
  @Override
  EnvoyProcess.XdsMode mode() {
    return EnvoyProcess.XdsMode.SOTW;
  }

  @Override
  UnaryOperator<EnvoyProcess.Builder> envoyOptions() {
    return EnvoyProcess.Builder::nodeInEveryRequest;
  }
}
