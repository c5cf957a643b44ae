package io.signalbox.model;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How Envoy retries a failed request on a route.
 *
 * @param attempts retries after the first try, at least 1
 * @param perTryTimeout timeout of each try; empty means only the route's timeout applies
 * @param retryOn Envoy's retry_on conditions; empty means the defaults for the service's protocol
 * @param retriableStatusCodes further HTTP statuses that are retried
 * @param backoff the back-off between tries; empty means Envoy's (25 ms base, 250 ms max)
 */
public record RetryPolicy(
    int attempts,
    Optional<Duration> perTryTimeout,
    List<String> retryOn,
    List<Integer> retriableStatusCodes,
    Optional<Backoff> backoff) {

  public RetryPolicy {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1: " + attempts);
    }
    Objects.requireNonNull(perTryTimeout, "perTryTimeout");
    retryOn = List.copyOf(retryOn);
    retriableStatusCodes = List.copyOf(retriableStatusCodes);
    Objects.requireNonNull(backoff, "backoff");
  }

  /** Exponential back-off with jitter from {@code base} up to {@code max}. */
  public record Backoff(Duration base, Duration max) {
    public Backoff {
      Objects.requireNonNull(base, "base");
      Objects.requireNonNull(max, "max");
      if (max.compareTo(base) < 0) {
        throw new IllegalArgumentException("max back-off below the base");
      }
    }
  }
}
