package io.signalbox.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where Envoy asks for global rate-limit decisions.
 *
 * @param address host:port of an external {@code envoy.service.ratelimit.v3.RateLimitService}; empty means
 *     Signalbox's own, reached through the bootstrap's control-plane cluster
 * @param timeout how long Envoy waits for a decision before applying the route's failure mode
 */
public record RateLimitServiceSpec(Optional<HostAndPort> address, Duration timeout) {

  public static final RateLimitServiceSpec BUILT_IN = new RateLimitServiceSpec(Optional.empty(), Duration.ofMillis(100));

  public RateLimitServiceSpec {
    address = address == null ? Optional.empty() : address;
    Objects.requireNonNull(timeout, "timeout");
  }

  public record HostAndPort(String host, int port) {
    public HostAndPort {
      Objects.requireNonNull(host, "host");
    }
  }
}
