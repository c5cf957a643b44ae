package io.signalbox.ratelimit;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hit counts per key in fixed windows aligned to the epoch: a one-minute window runs from one full minute to the next,
 * as in Envoy's reference rate-limit service, so every replica of a window agrees on where it starts.
 *
 * <p>Thread-safe; hits on different keys do not contend, hits on one key are exactly counted. Memory is bounded
 * twice: a window that has ended is dropped (swept at most every {@link #SWEEP_INTERVAL_MILLIS}), and at most
 * {@code maxKeys} windows exist at once. A key that finds the table full while no window has ended is not counted
 * ({@link #add} answers empty) rather than evicting another key's count, which would let that key start afresh.
 */
public final class FixedWindowCounters {

  /** About 200 bytes a key (descriptor text, window, map entry): some 50 MB when full. */
  public static final int DEFAULT_MAX_KEYS = 250_000;

  static final long SWEEP_INTERVAL_MILLIS = 1_000;
  private static final long FULL_WARNING_INTERVAL_MILLIS = 60_000;
  private static final Logger log = LoggerFactory.getLogger(FixedWindowCounters.class);

  /** The hits counted in the key's current window, this call's included, and when that window ends. */
  public record Count(long hits, long windowEndMillis) {
  }

  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();
  private final LongSupplier clockMillis;
  private final int maxKeys;
  private final long sweepIntervalMillis;
  private final AtomicLong nextSweepMillis = new AtomicLong(Long.MIN_VALUE);
  private final AtomicLong nextFullWarningMillis = new AtomicLong(Long.MIN_VALUE);

  public FixedWindowCounters() {
    this(System::currentTimeMillis, DEFAULT_MAX_KEYS);
  }

  /**
   * @param clockMillis wall-clock milliseconds since the epoch (windows are aligned to it)
   */
  public FixedWindowCounters(LongSupplier clockMillis, int maxKeys) {
    this(clockMillis, maxKeys, SWEEP_INTERVAL_MILLIS);
  }

  FixedWindowCounters(LongSupplier clockMillis, int maxKeys, long sweepIntervalMillis) {
    if (maxKeys < 1) {
      throw new IllegalArgumentException("maxKeys must be at least 1, was " + maxKeys);
    }
    this.clockMillis = clockMillis;
    this.maxKeys = maxKeys;
    this.sweepIntervalMillis = sweepIntervalMillis;
  }

  /**
   * Adds {@code hits} (0 only reads) to {@code key}'s window of length {@code window}; empty when the key cannot be
   * tracked because {@code maxKeys} windows are live.
   */
  public Optional<Count> add(String key, Duration window, long hits) {
    long windowMillis = window.toMillis();
    sweepIfDue(clockMillis.getAsLong());
    while (true) {
      Window current = windows.get(key);
      if (current == null) {
        if (windows.size() >= maxKeys) {
          sweep(clockMillis.getAsLong());
          if (windows.size() >= maxKeys) {
            warnFull(clockMillis.getAsLong());
            return Optional.empty();
          }
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
        // The clock is read under the window's lock, as the sweep decides under it too: a hit never lands in a
        // window the sweep has already judged over.
        long now = clockMillis.getAsLong();
        long windowEnd = Math.floorDiv(now, windowMillis) * windowMillis + windowMillis;
        if (windowEnd > current.end) {
          current.end = windowEnd;
          current.hits = 0;
        }
        current.hits += hits;
        return Optional.of(new Count(current.hits, current.end));
      }
    }
  }

  /** Live windows (those not yet swept), for tests and diagnostics. */
  public int size() {
    return windows.size();
  }

  private void sweepIfDue(long now) {
    long due = nextSweepMillis.get();
    if (now >= due && nextSweepMillis.compareAndSet(due, now + sweepIntervalMillis)) {
      sweep(now);
    }
  }

  private void sweep(long now) {
    windows.forEach((key, window) -> {
      synchronized (window) {
        if (window.end <= now && !window.removed) {
          window.removed = true;
          windows.remove(key, window);
        }
      }
    });
  }

  private void warnFull(long now) {
    long due = nextFullWarningMillis.get();
    if (now >= due && nextFullWarningMillis.compareAndSet(due, now + FULL_WARNING_INTERVAL_MILLIS)) {
      log.warn("Rate-limit counters are full ({} live windows): new descriptors are not limited until windows end",
          maxKeys);
    }
  }

  /** One key's current window; guarded by its own monitor. */
  private static final class Window {
    /** Until the first hit sets it, a window has already ended. */
    long end = Long.MIN_VALUE;
    long hits;
    boolean removed;
  }
}
