package io.signalbox.store;

import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * Leases committed outside the engine, put into its state in their order: a shared store's
 * transactions as it reads them back, or the journal at a restore. No ownership check: the
 * committing store's transaction made it. A put lease expires at its {@link
 * StoredLease#expiresAt()}, which the shared store may move ({@link #setExpiries}); it is never
 * removed here before the shared store reports its removal.
 *
 * <p>A class of its own because following changes another store decided is the engine's second way
 * of being used, beside deciding them itself; the two share only the engine's state. It changes
 * that state, so call it with the engine's lock held.
 */
final class CommittedLeases {

  private final LeaseTable leases;
  private final DerivedServices services;
  private final QuarantinedServices quarantines;
  private final LongSupplier nanoClock;
  private final Clock wallClock;

  /** Tells the engine of a registration number taken, so that its next one comes after it. */
  private final LongConsumer sequenceTaken;

  /**
   * @param nanoClock the time leases age on
   * @param wallClock the time expiries are stored in, to tell how far off each one is
   * @param sequenceTaken told each put lease's registration number
   */
  CommittedLeases(
      LeaseTable leases,
      DerivedServices services,
      QuarantinedServices quarantines,
      LongSupplier nanoClock,
      Clock wallClock,
      LongConsumer sequenceTaken) {
    this.leases = Objects.requireNonNull(leases);
    this.services = Objects.requireNonNull(services);
    this.quarantines = Objects.requireNonNull(quarantines);
    this.nanoClock = Objects.requireNonNull(nanoClock);
    this.wallClock = Objects.requireNonNull(wallClock);
    this.sequenceTaken = Objects.requireNonNull(sequenceTaken);
  }

  /**
   * Applies committed changes in their order: puts replace the lease (and any other lease of the
   * same instance), removals forget it. Whether the registry changed.
   *
   * @param bytes each put's approximate size, measured before the lock was taken
   */
  boolean apply(List<StoredLease> puts, long[] bytes, List<String> removals) {
    boolean changed = false;
    long nowNanos = nanoClock.getAsLong();
    Instant now = wallClock.instant();
    for (int i = 0; i < puts.size(); i++) {
      StoredLease stored = puts.get(i);
      Registration registration = stored.registration();
      LiveLease replaced = leases.unindex(leases.byLease(stored.leaseId()));
      LiveLease sameInstance = leases.of(registration.service(), registration.instance().id());
      if (sameInstance != null) {
        leases.unindex(leases.byLease(sameInstance.leaseId));
      }
      if (replaced != null && !replaced.service().equals(registration.service())) {
        leases.unplaceIfHeld(replaced);
        changed |= services.recompute(replaced.service());
      }
      LiveLease lease =
          new LiveLease(
              registration,
              stored.leaseId(),
              stored.sequence(),
              stored.ttl(),
              toNanos(stored.expiresAt(), now, nowNanos),
              stored.registeredAt(),
              bytes[i]);
      lease.drained = stored.drained();
      lease.notServing = stored.notServing();
      // Restored or replicated: it lived before, so it counts as a renewing instance for
      // mass-expiry protection.
      lease.renewed = true;
      services.setCause(
          RegistryState.cause(stored.drained() ? "drain" : "register", registration.registrant()));
      leases.place(lease);
      leases.index(lease);
      sequenceTaken.accept(stored.sequence());
      if (services.recompute(registration.service())) {
        changed = true;
        quarantines.registered(
            registration.service(), services.revision(), services.get(registration.service()));
      }
    }
    services.setCause("lease ended (deregistered, evicted or expired)");
    for (String leaseId : removals) {
      LiveLease lease = leases.byLease(leaseId);
      if (lease != null) {
        leases.remove(lease);
        changed |= services.recompute(lease.service());
      }
    }
    return changed;
  }

  /** Moves the expiry of known leases to the wall-clock instants given; unknown ids are ignored. */
  void setExpiries(Map<String, Instant> expiries) {
    long nowNanos = nanoClock.getAsLong();
    Instant now = wallClock.instant();
    expiries.forEach(
        (leaseId, expiresAt) -> {
          LiveLease lease = leases.byLease(leaseId);
          if (lease != null) {
            leases.extend(lease, toNanos(expiresAt, now, nowNanos));
          }
        });
  }

  private static long toNanos(Instant wallClock, Instant now, long nowNanos) {
    return nowNanos + Duration.between(now, wallClock).toNanos();
  }
}
