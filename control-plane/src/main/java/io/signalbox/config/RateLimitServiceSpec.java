package io.signalbox.config;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where Envoy asks for global rate-limit decisions.
 *
 * @param address host:port of an external {@code envoy.service.ratelimit.v3.RateLimitService};
 *     empty means Signalbox's own, reached through the bootstrap's control-plane cluster
 * @param timeout how long Envoy waits for a decision before applying the route's failure mode
 * @param counterMemoryBytes the memory Signalbox's own service may spend on live counters (about
 *     128 bytes each); once spent, a request with a new key gets the route's failure mode until
 *     windows end
 */
public record RateLimitServiceSpec(
    Optional<HostAndPort> address, Duration timeout, long counterMemoryBytes) {

  /** 32 MiB: some 262,000 live counters, e.g. 4,000 clients on each of 65 per-client limits. */
  public static final long DEFAULT_COUNTER_MEMORY_BYTES = 32L << 20;

  public static final RateLimitServiceSpec BUILT_IN =
      new RateLimitServiceSpec(Optional.empty(), Duration.ofMillis(100));

  public RateLimitServiceSpec {
    address = address == null ? Optional.empty() : address;
    Objects.requireNonNull(timeout, "timeout");
    if (counterMemoryBytes < 1) {
      throw new IllegalArgumentException(
          "counterMemoryBytes must be positive, was " + counterMemoryBytes);
    }
  }

  /** With the default counter memory. */
  public RateLimitServiceSpec(Optional<HostAndPort> address, Duration timeout) {
    this(address, timeout, DEFAULT_COUNTER_MEMORY_BYTES);
  }

  public RateLimitServiceSpec withCounterMemoryBytes(long bytes) {
    return new RateLimitServiceSpec(address, timeout, bytes);
  }

  public record HostAndPort(String host, int port) {
    public HostAndPort {
      Objects.requireNonNull(host, "host");
    }
  }
}
