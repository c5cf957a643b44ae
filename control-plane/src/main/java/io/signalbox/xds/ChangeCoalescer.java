package io.signalbox.xds;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * When the pipeline publishes: a change that finds it idle at once (leading edge, so a lone
 * registration pays no wait); changes that arrive while, or just after, a publication runs are
 * collected until none has arrived for the quiet period, never longer than the maximum delay after
 * the wait began. Any thread signals; the pipeline thread waits.
 *
 * <p>Under a steady stream of changes the pipeline also rests after each publication for as long as
 * it took (at most the maximum delay) before it publishes again. Otherwise a publication of a few
 * milliseconds followed another as soon as a millisecond passed without a change, the pipeline kept
 * a core busy, and the registry API's calls, which make the changes, got what was left: at 10,000
 * services it took a quarter of the control plane's CPU under {@code bench/run.sh store}. Resting
 * as long as it works caps the pipeline at half a core and makes each publication carry twice the
 * changes; a change that finds the pipeline idle still goes out at once.
 */
final class ChangeCoalescer {

  private final long quietNanos;
  private final long maxDelayNanos;
  private final Object lock = new Object();

  /** Guarded by {@link #lock}. */
  private long signals;

  private long lastSignalNanos;
  private long lastPublishedNanos;

  /** When the running publication started; empty before the pipeline thread's first. */
  private OptionalLong publicationStartedNanos = OptionalLong.empty();

  private long lastPublicationNanos;

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
      lastPublicationNanos =
          publicationStartedNanos.isPresent()
              ? lastPublishedNanos - publicationStartedNanos.getAsLong()
              : 0;
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
        return publishing();
      }
      long deadline = System.nanoTime() + maxDelayNanos;
      long restedAt = lastPublishedNanos + Math.min(lastPublicationNanos, maxDelayNanos);
      while (running.getAsBoolean()) {
        long wakeAt = Math.max(restedAt, Math.min(lastSignalNanos + quietNanos, deadline));
        long waitNanos = wakeAt - System.nanoTime();
        if (waitNanos <= 0) {
          break;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, waitNanos);
      }
      return publishing();
    }
  }

  /** Guarded by {@link #lock}: a publication of every change signalled so far starts now. */
  private long publishing() {
    publicationStartedNanos = OptionalLong.of(System.nanoTime());
    return signals;
  }
}
