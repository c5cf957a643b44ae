package io.signalbox.client;

import java.time.Duration;
import java.util.Objects;

/** The shape of every retry loop of one client; each loop gets its own {@link Backoff} from it. */
record BackoffPolicy(Duration initial, Duration max) {

  static final BackoffPolicy DEFAULT =
      new BackoffPolicy(Duration.ofMillis(100), Duration.ofSeconds(5));

  BackoffPolicy {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException("initial backoff must be positive: " + initial);
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "max backoff " + max + " is shorter than the initial " + initial);
    }
  }

  Backoff newBackoff() {
    return new Backoff(initial, max);
  }
}
