package io.signalbox.translate;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/** TLS certificates of the settings as SDS secrets, which TLS listeners refer to by name. */
final class SecretTranslator {

  List<Secret> secrets(GatewaySettings settings) {
    return List.of();
  }
}
