package io.signalbox.store;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.signalbox.metrics.SignalboxMetrics;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Expires leases on a fixed tick, so an instance that stopped renewing is gone within TTL + one
 * tick; unless too many would go at once ({@link MassExpiryProtection}): then expiry pauses until
 * renewals (an SDK whose lease expired registers again, keeping its lease id) bring the share back
 * under the limit, or an operator evicts.
 */
public final class LeaseReaper implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaseReaper.class);

  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder()
              .setNameFormat("signalbox-lease-reaper")
              .setDaemon(true)
              .build());
  private final RegistryStore store;
  private final SignalboxMetrics metrics;
  private final MassExpiryProtection protection;
  private volatile boolean paused;

  public LeaseReaper(RegistryStore store, Duration tick) {
    this(store, tick, SignalboxMetrics.noop(), MassExpiryProtection.DISABLED);
  }

  public LeaseReaper(
      RegistryStore store,
      Duration tick,
      SignalboxMetrics metrics,
      MassExpiryProtection protection) {
    this.store = store;
    this.metrics = metrics;
    this.protection = protection;
    executor.scheduleWithFixedDelay(
        () -> {
          try {
            tick();
          } catch (RuntimeException e) {
            log.error("Lease expiry failed; retrying next tick", e);
          }
        },
        tick.toNanos(),
        tick.toNanos(),
        TimeUnit.NANOSECONDS);
  }

  /** One pass: expires what has expired, or holds it back. */
  void tick() {
    RegistryStore.LeaseCounts counts = store.leaseCounts();
    if (counts.expired() > 0 && protection.holdsBack(counts)) {
      int junk = store.expireNeverRenewedLeases();
      if (junk > 0) {
        metrics.leasesExpired(junk);
        log.info(
            "Expired {} lease(s) that were never renewed, while expiry of the others is paused",
            junk);
      }
      if (!paused) {
        paused = true;
        metrics.leaseExpiryPaused();
        log.warn(
            "Lease expiry paused: {} of {} live lease(s) have expired at once, more than the share of {} "
                + "allowed; the control plane may have lost its network. Expiry resumes when renewals bring the "
                + "share back under the limit; evict with signalboxctl to remove instances now",
            counts.expired(),
            counts.live(),
            protection.maxShare());
      }
      return;
    }
    if (paused) {
      paused = false;
      log.info(
          "Lease expiry resumed: {} of {} live lease(s) expired", counts.expired(), counts.live());
    }
    if (counts.expired() == 0) {
      return;
    }
    int expired = store.expireLeases();
    if (expired > 0) {
      metrics.leasesExpired(expired);
      log.info("Expired {} lease(s)", expired);
    }
  }

  /** Whether expiry is held back now. */
  public boolean paused() {
    return paused;
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
