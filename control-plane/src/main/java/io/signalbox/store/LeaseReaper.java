package io.signalbox.store;

import io.signalbox.metrics.SignalboxMetrics;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Expires leases on a fixed tick, so an instance that stopped renewing is gone within TTL + one tick. */
public final class LeaseReaper implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);

  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
    Thread thread = new Thread(runnable, "signalbox-lease-reaper");
    thread.setDaemon(true);
    return thread;
  });

  public LeaseReaper(RegistryStore store, Duration tick) {
    this(store, tick, SignalboxMetrics.noop());
  }

  public LeaseReaper(RegistryStore store, Duration tick, SignalboxMetrics metrics) {
    executor.scheduleWithFixedDelay(() -> {
      try {
        int expired = store.expireLeases();
        if (expired > 0) {
          metrics.leasesExpired(expired);
          log.info("Expired {} lease(s)", expired);
        }
      } catch (RuntimeException e) {
        log.error("Lease expiry failed; retrying next tick", e);
      }
    }, tick.toNanos(), tick.toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
