package io.signalbox.store;

import java.time.Duration;
import java.util.Optional;

/** How long leases last: a default, and bounds on what clients may ask for. */
public record LeasePolicy(Duration defaultTtl, Duration minTtl, Duration maxTtl) {

  public static final LeasePolicy DEFAULT =
      new LeasePolicy(Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofMinutes(5));

  public LeasePolicy {
    if (minTtl.compareTo(maxTtl) > 0
        || defaultTtl.compareTo(minTtl) < 0
        || defaultTtl.compareTo(maxTtl) > 0) {
      throw new IllegalArgumentException("lease TTLs must satisfy min <= default <= max");
    }
  }

  public static LeasePolicy withDefault(Duration defaultTtl) {
    Duration min = defaultTtl.compareTo(DEFAULT.minTtl()) < 0 ? defaultTtl : DEFAULT.minTtl();
    Duration max = defaultTtl.compareTo(DEFAULT.maxTtl()) > 0 ? defaultTtl : DEFAULT.maxTtl();
    return new LeasePolicy(defaultTtl, min, max);
  }

  Duration grant(Optional<Duration> requested) {
    Duration ttl = requested.orElse(defaultTtl);
    if (ttl.compareTo(minTtl) < 0) {
      return minTtl;
    }
    return ttl.compareTo(maxTtl) > 0 ? maxTtl : ttl;
  }
}
