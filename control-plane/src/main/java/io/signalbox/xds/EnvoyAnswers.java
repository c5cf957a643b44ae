package io.signalbox.xds;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wakes the pipeline thread when an Envoy answers a response (or a response is written to its
 * stream, for stages that need only be delivered in order), so that a staged change moves on as
 * soon as its stage is applied instead of polling the fleet's status every few hundred microseconds
 * (each poll walks the group's streams, on the cores Envoy needs to apply the stage).
 *
 * <p>An answer counts only once the status tracker has recorded it, so a waiter that reads {@link
 * #seen()} before it checks the status either sees the answer in the status or is woken by it. The
 * wait is bounded all the same: a missed wake-up costs at most a millisecond.
 */
final class EnvoyAnswers {

  private static final long LONGEST_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final Object lock = new Object();
  private final AtomicInteger waiting = new AtomicInteger();
  private volatile long answers;

  /** An Envoy answered. Any thread; takes no lock unless the pipeline waits. */
  void answered() {
    if (waiting.get() > 0) {
      synchronized (lock) {
        answers++;
        lock.notifyAll();
      }
    }
  }

  /** Starts waiting: answers from now on wake the waiter. Pair with {@link #stopWaiting}. */
  void startWaiting() {
    waiting.incrementAndGet();
  }

  void stopWaiting() {
    waiting.decrementAndGet();
  }

  /** The answers counted so far; read before checking the status. */
  long seen() {
    return answers;
  }

  /** Waits until an answer after {@code seen} came, at most {@code nanos} (and at most 1 ms). */
  void awaitAfter(long seen, long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + Math.min(nanos, LONGEST_WAIT_NANOS);
    synchronized (lock) {
      long left;
      while (answers == seen && (left = deadline - System.nanoTime()) > 0) {
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
    }
  }
}
