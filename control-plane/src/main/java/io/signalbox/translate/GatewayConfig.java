package io.signalbox.translate;

import java.time.Duration;
import java.util.Objects;

/**
 * What the operator decides about the gateway, as opposed to what services register.
 *
 * @param listenerName name of the HTTP listener (and the prefix of its route configuration and stats)
 * @param bindAddress address Envoy's HTTP listener binds to
 * @param port port of Envoy's HTTP listener
 * @param upstreamConnectTimeout how long Envoy waits to connect to an instance before trying another
 */
public record GatewayConfig(String listenerName, String bindAddress, int port, Duration upstreamConnectTimeout) {

  public static final GatewayConfig DEFAULT = new GatewayConfig("http", "0.0.0.0", 10000, Duration.ofSeconds(1));

  public GatewayConfig {
    Objects.requireNonNull(listenerName, "listenerName");
    Objects.requireNonNull(bindAddress, "bindAddress");
    Objects.requireNonNull(upstreamConnectTimeout, "upstreamConnectTimeout");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("gateway port " + port + " is out of range 1-65535");
    }
  }

  public GatewayConfig withPort(int newPort) {
    return new GatewayConfig(listenerName, bindAddress, newPort, upstreamConnectTimeout);
  }

  public GatewayConfig withBindAddress(String address) {
    return new GatewayConfig(listenerName, address, port, upstreamConnectTimeout);
  }
}
