package io.signalbox.store;

import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The embedded store's registrations, made and committed to the journal in groups: a caller queues
 * its registration, and one caller at a time (the {@link GroupCommit}'s leader) makes every queued
 * registration under the engine's lock, in order, and commits them to the journal at once (one
 * journal commit per group instead of one per registration), while the others wait parked. Nothing
 * is seen before the commit: readers and listeners need the engine's lock, and a failed commit
 * undoes the group's changes in memory before the lock is released, so the registry is as it was
 * (every registration of the group fails with UNAVAILABLE). A registration refused on its own
 * merits (route taken, quota, owner) fails alone.
 *
 * <p>A class of its own because making a group, and taking it back to the object when its commit
 * fails, is a protocol of its own beside the engine's one-by-one changes. It changes the engine's
 * state, so it makes each group holding the engine's lock, the same monitor the engine's
 * synchronized methods take.
 */
final class RegistrationGroups {

  /** The engine's monitor, which guards everything a group touches. */
  private final Object engineLock;

  private final GroupCommit<QueuedRegistration> queue = new GroupCommit<>(this::registerGroup);

  private final LeaseTable leases;
  private final DerivedServices services;
  private final QuarantinedServices quarantines;
  private final RegistrationAdmission admission;
  private final JournalWrites writes;
  private final LongSupplier nanoClock;
  private final Clock wallClock;

  /** The next registration number, called with the engine's lock held. */
  private final LongSupplier nextSequence;

  /**
   * @param engineLock the engine's monitor: everything below is the engine's state, guarded by it
   * @param nanoClock the time leases age on
   * @param wallClock the time written down: when a lease was registered, its expiry as stored
   * @param nextSequence numbers each registration made, in order
   */
  RegistrationGroups(
      Object engineLock,
      LeaseTable leases,
      DerivedServices services,
      QuarantinedServices quarantines,
      RegistrationAdmission admission,
      JournalWrites writes,
      LongSupplier nanoClock,
      Clock wallClock,
      LongSupplier nextSequence) {
    this.engineLock = Objects.requireNonNull(engineLock);
    this.leases = Objects.requireNonNull(leases);
    this.services = Objects.requireNonNull(services);
    this.quarantines = Objects.requireNonNull(quarantines);
    this.admission = Objects.requireNonNull(admission);
    this.writes = Objects.requireNonNull(writes);
    this.nanoClock = Objects.requireNonNull(nanoClock);
    this.wallClock = Objects.requireNonNull(wallClock);
    this.nextSequence = Objects.requireNonNull(nextSequence);
  }

  /**
   * A registration made and committed; listeners are to hear of it when it changed the registry.
   */
  record Registered(Lease lease, boolean changed) {}

  /**
   * Registers as one of a group, with the lease's time to live granted; returns once the group is
   * committed. Call without the engine's lock: a caller may wait for others' groups.
   *
   * @throws RuntimeException what refused it (route taken, quota, owner), or {@link
   *     StoreUnavailableException} when its group's commit failed
   */
  Registered register(Registration registration, Duration ttl) {
    QueuedRegistration mine = new QueuedRegistration(registration, ttl);
    queue.submit(mine);
    if (mine.failure != null) {
      throw mine.failure;
    }
    return new Registered(new Lease(mine.lease.leaseId, mine.ttl), mine.changed);
  }

  /** Makes a group of registrations and commits them to the journal together. */
  private void registerGroup(List<QueuedRegistration> group) {
    synchronized (engineLock) {
      DerivedServices.Checkpoint before = services.checkpoint();
      List<QueuedRegistration> made = new ArrayList<>();
      for (QueuedRegistration queued : group) {
        try {
          make(queued);
          made.add(queued);
        } catch (RuntimeException e) {
          queued.failure = e;
        }
      }
      if (!made.isEmpty()) {
        try {
          writes.sync();
          for (QueuedRegistration queued : made) {
            if (queued.changed) {
              String service = queued.registration.service();
              quarantines.registered(service, queued.revision, services.get(service));
            }
          }
        } catch (StoreUnavailableException e) {
          for (int i = made.size() - 1; i >= 0; i--) {
            undo(made.get(i));
          }
          // Every service is as before again; so are the maps derived from them, to the object.
          services.rollBack(before);
          made.forEach(queued -> queued.failure = e);
        }
      }
    }
  }

  /**
   * Checks a registration and makes it in memory, written to the journal but not committed.
   *
   * @throws RuntimeException when it is refused; nothing changed then
   */
  private void make(QueuedRegistration queued) {
    Registration registration = queued.registration;
    LiveLease previous =
        admission.admit(registration, queued.bytes, services.get(registration.service()));
    LiveLease lease =
        new LiveLease(
            registration,
            previous == null ? Lease.newId() : previous.leaseId,
            nextSequence.getAsLong(),
            queued.ttl,
            nanoClock.getAsLong() + queued.ttl.toNanos(),
            previous == null ? wallClock.instant() : previous.registeredAt,
            queued.bytes);
    // A drain belongs to the lease, so an instance that registers again while drained stays
    // drained.
    lease.drained = previous != null && previous.drained;
    lease.notServing = previous != null && previous.notServing;
    writes.write(j -> j.put(lease.stored(wallClock.instant())));
    services.setCause(RegistryState.cause("register", registration.registrant()));
    leases.place(lease);
    leases.unindex(previous);
    leases.index(lease);
    queued.previous = previous;
    queued.lease = lease;
    queued.changed = services.recompute(registration.service());
    queued.revision = services.revision();
  }

  /** Takes back {@link #make}: the instance's previous lease (or none) is live again. */
  private void undo(QueuedRegistration queued) {
    leases.unindex(queued.lease);
    if (queued.previous != null) {
      leases.place(queued.previous);
      leases.index(queued.previous);
    } else {
      leases.unplace(queued.registration.service(), queued.registration.instance().id());
    }
    services.recompute(queued.registration.service());
  }

  /** A registration waiting to be made; written under the engine's lock. */
  private static final class QueuedRegistration {
    final Registration registration;

    /** Its approximate size, taken on the caller's thread: the lock is held for less. */
    final long bytes;

    final Duration ttl;
    LiveLease previous;
    LiveLease lease;
    boolean changed;
    long revision;
    RuntimeException failure;

    QueuedRegistration(Registration registration, Duration ttl) {
      this.registration = registration;
      this.bytes = registration.approximateBytes();
      this.ttl = ttl;
    }
  }
}
