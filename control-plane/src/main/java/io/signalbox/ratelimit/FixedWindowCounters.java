package io.signalbox.ratelimit;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Hit counts per key in fixed windows aligned to the epoch: a one-minute window runs from one full
 * minute to the next, as in Envoy's reference rate-limit service, so every replica of a window
 * agrees on where it starts.
 *
 * <p>Thread-safe; hits on different keys do not contend, hits on one key are exactly counted.
 * Memory is bounded in bytes: every window costs the same {@link #BYTES_PER_WINDOW} (its key is a
 * fixed-size digest), so a budget of {@code maxBytes} holds {@code maxBytes / BYTES_PER_WINDOW}
 * windows. A window that has ended is dropped (swept at most every {@link #SWEEP_INTERVAL_MILLIS}).
 * A key that finds the table full while no window has ended is not counted ({@link #add} answers
 * empty) rather than evicting another key's count, which would let that key start afresh; the
 * caller decides what an uncounted hit means.
 */
public final class FixedWindowCounters {

  /**
   * What one live window costs on a 64-bit JVM with compressed references, rounded up: the map's
   * node (32 bytes), the key (32), the window (32) and its share of the map's table (up to 11).
   * Measured on JDK 17: 1,000,000 windows retained some 110 MB.
   */
  public static final long BYTES_PER_WINDOW = 128;

  static final long SWEEP_INTERVAL_MILLIS = 1_000;

  /**
   * The hits counted in the key's current window, this call's included, and when that window ends.
   */
  public record Count(long hits, long windowEndMillis) {}

  private final ConcurrentHashMap<CounterKey, Window> windows = new ConcurrentHashMap<>();
  private final Clock clock;
  private final LongSupplier maxBytes;
  private final long sweepIntervalMillis;
  private final AtomicLong nextSweepMillis = new AtomicLong(Long.MIN_VALUE);

  /**
   * @param clock wall clock (windows are aligned to the epoch)
   * @param maxBytes the memory the windows may take, read whenever a new key needs room, so a
   *     lowered budget applies to new keys at once (live windows are never dropped before they end)
   */
  public FixedWindowCounters(Clock clock, LongSupplier maxBytes) {
    this(clock, maxBytes, SWEEP_INTERVAL_MILLIS);
  }

  FixedWindowCounters(Clock clock, LongSupplier maxBytes, long sweepIntervalMillis) {
    this.clock = clock;
    this.maxBytes = maxBytes;
    this.sweepIntervalMillis = sweepIntervalMillis;
  }

  /**
   * Adds {@code hits} (0 only reads) to {@code key}'s window of length {@code window}; empty when
   * the key cannot be tracked because the budget is spent on live windows. A count saturates at
   * {@link Long#MAX_VALUE}.
   */
  public Optional<Count> add(CounterKey key, Duration window, long hits) {
    if (hits < 0) {
      throw new IllegalArgumentException("hits must not be negative, was " + hits);
    }
    long windowMillis = window.toMillis();
    sweepIfDue(clock.millis());
    while (true) {
      Window current = windows.get(key);
      if (current == null) {
        // Full: refused at once. Ended windows leave at the next sweep (within
        // SWEEP_INTERVAL_MILLIS); sweeping
        // here instead would make every refused call walk the whole table, just when callers crowd
        // in.
        if (windows.size() >= capacity()) {
          return Optional.empty();
        }
        Window fresh = new Window();
        current = windows.putIfAbsent(key, fresh);
        if (current == null) {
          current = fresh;
        }
      }
      synchronized (current) {
        if (current.removed) {
          // Swept between lookup and lock: its window has ended; count in a new one.
          continue;
        }
        // The clock is read under the window's lock, as the sweep decides under it too: a hit never
        // lands in a
        // window the sweep has already judged over.
        long now = clock.millis();
        long windowEnd = Math.floorDiv(now, windowMillis) * windowMillis + windowMillis;
        if (windowEnd > current.end) {
          current.end = windowEnd;
          current.hits = 0;
        }
        current.hits = current.hits > Long.MAX_VALUE - hits ? Long.MAX_VALUE : current.hits + hits;
        return Optional.of(new Count(current.hits, current.end));
      }
    }
  }

  /** Live windows (those not yet swept). */
  public int size() {
    return windows.size();
  }

  /** How many windows the budget holds now; at least one. */
  public long capacity() {
    return Math.max(1, maxBytes.getAsLong() / BYTES_PER_WINDOW);
  }

  /** The budget in bytes, as now in force. */
  public long maxBytes() {
    return maxBytes.getAsLong();
  }

  private void sweepIfDue(long now) {
    long due = nextSweepMillis.get();
    if (now >= due && nextSweepMillis.compareAndSet(due, now + sweepIntervalMillis)) {
      sweep(now);
    }
  }

  private void sweep(long now) {
    windows.forEach(
        (key, window) -> {
          synchronized (window) {
            if (window.end <= now && !window.removed) {
              window.removed = true;
              windows.remove(key, window);
            }
          }
        });
  }

  /** One key's current window; guarded by its own monitor. */
  private static final class Window {
    /** Until the first hit sets it, a window has already ended. */
    long end = Long.MIN_VALUE;

    long hits;
    boolean removed;
  }
}
