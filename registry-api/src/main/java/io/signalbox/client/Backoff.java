package io.signalbox.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: the nominal delay doubles from {@code initial} up to {@code
 * max}, and each delay handed out is randomised by ±20% so that many instances losing the same
 * control plane do not reconnect in lockstep. Not thread-safe: each retry loop owns its own
 * instance.
 */
final class Backoff {

  private static final double JITTER = 0.2;

  private final Duration initial;
  private final Duration max;
  private Duration nominal;

  Backoff(Duration initial, Duration max) {
    this.initial = initial;
    this.max = max;
    this.nominal = initial;
  }

  Duration next() {
    Duration current = nominal;
    Duration doubled = nominal.multipliedBy(2);
    nominal = doubled.compareTo(max) > 0 ? max : doubled;
    double factor = 1 - JITTER + ThreadLocalRandom.current().nextDouble() * 2 * JITTER;
    return Duration.ofNanos((long) (current.toNanos() * factor));
  }

  void reset() {
    nominal = initial;
  }
}
