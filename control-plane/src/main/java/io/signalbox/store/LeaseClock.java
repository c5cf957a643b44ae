package io.signalbox.store;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clock leases age by: monotonic time that stops while the control plane itself stops.
 *
 * <p>A control plane that was stalled — a long GC pause, SIGSTOP, a frozen VM — could not hear
 * renewals meanwhile; expiring every lease on resume would blame the instances for its own absence.
 * A heartbeat advances this clock by the real time since its last beat, but by at most {@code
 * maxStep} per beat; between beats it reads as the last beat plus at most {@code maxStep}. So a
 * stall of any length ages leases by at most about {@code maxStep}, whichever thread (a renewal,
 * the reaper) runs first after it, and leases extend by the stall instead of expiring.
 */
public final class LeaseClock implements LongSupplier, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaseClock.class);

  private record Beat(long realNanos, long leaseNanos) {}

  private final LongSupplier realClock;
  private final long maxStepNanos;
  private final AtomicReference<Beat> last;
  private final ScheduledExecutorService heartbeat;

  /**
   * @param beat how often the heartbeat runs
   * @param maxStep how far one beat (or the time since it) may move lease time; a gap beyond it
   *     counts as a stall
   */
  public static LeaseClock start(Duration beat, Duration maxStep) {
    ScheduledExecutorService executor =
        Executors.newSingleThreadScheduledExecutor(
            new ThreadFactoryBuilder()
                .setNameFormat("signalbox-lease-clock")
                .setDaemon(true)
                .build());
    LeaseClock clock = new LeaseClock(System::nanoTime, maxStep, executor);
    executor.scheduleAtFixedRate(clock::beat, beat.toNanos(), beat.toNanos(), TimeUnit.NANOSECONDS);
    return clock;
  }

  /** A clock beaten by the caller ({@link #beat}), on {@code realClock}. */
  static LeaseClock manual(LongSupplier realClock, Duration maxStep) {
    return new LeaseClock(realClock, maxStep, null);
  }

  private LeaseClock(LongSupplier realClock, Duration maxStep, ScheduledExecutorService heartbeat) {
    this.realClock = Objects.requireNonNull(realClock);
    this.maxStepNanos = maxStep.toNanos();
    long now = realClock.getAsLong();
    this.last = new AtomicReference<>(new Beat(now, now));
    this.heartbeat = heartbeat;
  }

  /** Advances lease time by the real time since the last beat, at most {@code maxStep}. */
  void beat() {
    long now = realClock.getAsLong();
    Beat before = last.get();
    long elapsed = now - before.realNanos();
    if (elapsed > maxStepNanos) {
      log.warn(
          "The control plane was stalled for about {} ms (GC pause, SIGSTOP or a frozen VM?); leases are "
              + "extended by the stall instead of expiring",
          (elapsed - maxStepNanos) / 1_000_000);
    }
    last.set(new Beat(now, before.leaseNanos() + Math.min(elapsed, maxStepNanos)));
  }

  @Override
  public long getAsLong() {
    Beat beat = last.get();
    return beat.leaseNanos() + Math.min(realClock.getAsLong() - beat.realNanos(), maxStepNanos);
  }

  @Override
  public void close() {
    if (heartbeat != null) {
      heartbeat.shutdownNow();
    }
  }
}
