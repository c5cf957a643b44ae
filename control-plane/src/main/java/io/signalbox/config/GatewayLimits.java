package io.signalbox.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Bounds the operator puts on registrations and on client requests.
 *
 * @param maxRoutesPerService routes one registration may declare
 * @param maxRequestHeadersKb Envoy rejects requests with larger headers (431)
 * @param upstreamConnectTimeout how long Envoy waits to connect to an instance before trying another
 */
public record GatewayLimits(int maxRoutesPerService, int maxRequestHeadersKb, Duration upstreamConnectTimeout) {

  public static final GatewayLimits DEFAULT = new GatewayLimits(100, 60, Duration.ofSeconds(1));

  public GatewayLimits {
    Objects.requireNonNull(upstreamConnectTimeout, "upstreamConnectTimeout");
  }
}
