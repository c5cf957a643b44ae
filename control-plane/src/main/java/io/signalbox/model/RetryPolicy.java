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
 */
public record RetryPolicy(
    int attempts,
    Optional<Duration> perTryTimeout,
    List<String> retryOn,
    List<Integer> retriableStatusCodes) {

  public RetryPolicy {
    if (attempts < 1) {
      throw new IllegalArgumentException("attempts must be at least 1: " + attempts);
    }
    Objects.requireNonNull(perTryTimeout, "perTryTimeout");
    retryOn = List.copyOf(retryOn);
    retriableStatusCodes = List.copyOf(retriableStatusCodes);
  }
}
