package io.signalbox.admin;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.signalbox.store.RegisteredInstance;
import io.signalbox.store.RegistryAdmin;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evictions an operator's drain scheduled: a drained instance is evicted once its grace period
 * is over, unless it was undrained, evicted or registered anew meanwhile (the eviction names the
 * lease it was scheduled for, so a new registration of the same instance is not evicted).
 */
final class DrainEvictions implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DrainEvictions.class);

  private record InstanceKey(String service, String instanceId) {}

  private record ScheduledEviction(String leaseId, Instant at, ScheduledFuture<?> future) {}

  private final RegistryAdmin registry;
  private final Clock clock;
  private final Map<InstanceKey, ScheduledEviction> evictions = new ConcurrentHashMap<>();
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          new ThreadFactoryBuilder()
              .setNameFormat("signalbox-admin-evictions")
              .setDaemon(true)
              .build());

  DrainEvictions(RegistryAdmin registry, Clock clock) {
    this.registry = registry;
    this.clock = clock;
  }

  /** Evicts {@code drained} after {@code after}, if it is still drained under the same lease. */
  void schedule(RegisteredInstance drained, Duration after) {
    InstanceKey key = new InstanceKey(drained.service(), drained.instance().id());
    String leaseId = drained.leaseId();
    Instant at = clock.instant().plus(after);
    ScheduledFuture<?> future =
        scheduler.schedule(
            () -> {
              evictions.remove(key);
              if (registry.evictIfStillDrained(key.service(), key.instanceId(), leaseId)) {
                log.info(
                    "Admin: evicted drained instance {}/{} after its grace period",
                    key.service(),
                    key.instanceId());
              }
            },
            after.toNanos(),
            TimeUnit.NANOSECONDS);
    ScheduledEviction previous = evictions.put(key, new ScheduledEviction(leaseId, at, future));
    if (previous != null) {
      previous.future().cancel(false);
    }
  }

  /** Cancels the eviction scheduled for the instance, if any. */
  void cancel(String service, String instanceId) {
    ScheduledEviction eviction = evictions.remove(new InstanceKey(service, instanceId));
    if (eviction != null) {
      eviction.future().cancel(false);
    }
  }

  /** When {@code registered} is to be evicted: only under the lease the eviction was for. */
  Optional<Instant> evictionOf(RegisteredInstance registered) {
    ScheduledEviction eviction =
        evictions.get(new InstanceKey(registered.service(), registered.instance().id()));
    return eviction != null && eviction.leaseId().equals(registered.leaseId())
        ? Optional.of(eviction.at())
        : Optional.empty();
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
