package io.signalbox.e2e;

import io.signalbox.testing.EnvoyProcess;
import java.util.function.UnaryOperator;

/**
 * The gateway contract with Envoy on state-of-the-world ADS, sending its node in each stream's
 * first request only ({@code set_node_on_first_message_only}, as Istio's bootstrap does): the
 * control plane serves the stream's later requests as that node's.
 */
class SotwGatewayEndToEndTest extends GatewayEndToEndContract {
  @Override
  EnvoyProcess.XdsMode mode() {
    return EnvoyProcess.XdsMode.SOTW;
  }

  @Override
  UnaryOperator<EnvoyProcess.Builder> envoyOptions() {
    return EnvoyProcess.Builder::nodeInFirstRequestOnly;
  }
}
