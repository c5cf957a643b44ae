package io.signalbox.xds;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * When the pipeline publishes: a change that finds it idle at once (leading edge, so a lone
 * registration pays no wait); changes that arrive while, or just after, a publication runs are
 * collected until none has arrived for the quiet period, never longer than the maximum delay after
 * the wait began. Any thread signals; the pipeline thread waits.
 */
final class ChangeCoalescer {

  private final long quietNanos;
  private final long maxDelayNanos;
  private final Object lock = new Object();

  /** Guarded by {@link #lock}. */
  private long signals;

  private long lastSignalNanos;
  private long lastPublishedNanos;

  ChangeCoalescer(java.time.Duration quietPeriod, java.time.Duration maxDelay) {
    this.quietNanos = quietPeriod.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
  }

  /** A change to publish; cheap and non-blocking. */
  void signal() {
    synchronized (lock) {
      signals++;
      lastSignalNanos = System.nanoTime();
      lock.notifyAll();
    }
  }

  /** A publication has just ended: changes from now on find the pipeline idle again. */
  void published() {
    synchronized (lock) {
      lastPublishedNanos = System.nanoTime();
    }
  }

  /** Wakes a waiting pipeline thread, to see that it should stop. */
  void wakeUp() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  /**
   * Waits for a change after the {@code handled} first ones and, unless it found the pipeline idle,
   * for the quiet period after the last one (at most the maximum delay), while {@code running}.
   *
   * @return how many changes have been signalled: all are in what is published next
   */
  long awaitChange(long handled, BooleanSupplier running) throws InterruptedException {
    synchronized (lock) {
      while (running.getAsBoolean() && signals == handled) {
        lock.wait();
      }
      if (lastSignalNanos - lastPublishedNanos > quietNanos) {
        return signals;
      }
      long deadline = System.nanoTime() + maxDelayNanos;
      while (running.getAsBoolean()) {
        long wakeAt = Math.min(lastSignalNanos + quietNanos, deadline);
        long waitNanos = wakeAt - System.nanoTime();
        if (waitNanos <= 0) {
          break;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, waitNanos);
      }
      return signals;
    }
  }
}
