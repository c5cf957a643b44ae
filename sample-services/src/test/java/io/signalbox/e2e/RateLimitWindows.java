package io.signalbox.e2e;

import java.time.Duration;

/**
 * The built-in rate-limit service counts in windows aligned to the clock; a test must not straddle
 * two.
 */
final class RateLimitWindows {

  private RateLimitWindows() {}

  /**
   * Returns once at least {@code room} is left of the current clock minute, waiting for the next
   * one if needed.
   */
  static void awaitRoomInCurrentMinute(Duration room) {
    long minute = Duration.ofMinutes(1).toMillis();
    long left = minute - System.currentTimeMillis() % minute;
    if (left < room.toMillis()) {
      try {
        Thread.sleep(left + 100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the next minute", e);
      }
    }
  }
}
