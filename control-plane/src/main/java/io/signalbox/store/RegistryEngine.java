package io.signalbox.store;

import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The registry engine: the one place that decides what the registry holds, whichever back end keeps
 * it. It owns the lease table, derives each service's state from its live leases ({@link
 * DerivedServices}: newest registration's routes, first owner keeps a route, drained instances
 * out), admits changes ({@link RegistrationAdmission}: routes, quotas, lease owner), keeps
 * quarantines ({@link QuarantinedServices}) and tells listeners of every change.
 *
 * <p>Back ends use it in one of two ways. The embedded store ({@link InMemoryRegistryStore}) lets
 * it decide and write: every change goes to the journal given here before anyone sees it, with
 * registrations group-committed ({@link RegistrationGroups}). A shared store ({@link
 * EtcdRegistryStore}) decides in its own transactions, using the engine's checks, and hands the
 * committed changes to {@link #apply} in the shared order ({@link CommittedLeases}); its engine has
 * no journal and removes nothing by itself.
 *
 * <p>One lock, the engine's monitor, guards everything, the collaborators' state included (they are
 * called with it held, or take it themselves): registrations are small and rare compared to how
 * often the state is read, and a single lock makes the route-ownership check and the write one
 * atomic step. Work per change follows the change: one service is recomputed, the state is a
 * persistent map.
 */
public final class RegistryEngine implements RegistryView, Quarantines {

  private final LeasePolicy leasePolicy;
  private final LongSupplier nanoClock;

  /** Wall time, for what is written down or shown: when a lease was registered and expires. */
  private final Clock wallClock;

  private final JournalWrites writes;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  private final LeaseTable leases = new LeaseTable();

  /** Each service derived from its live leases, and each revision's state. */
  private final DerivedServices services;

  /** Whether a registration, renewal or removal is allowed. */
  private final RegistrationAdmission admission;

  /** Services withheld from the served state; a quarantine ends with the service. */
  private final QuarantinedServices quarantines;

  /** The embedded store's registrations, made and committed in groups; see {@link #register}. */
  private final RegistrationGroups registrations;

  /** A shared store's changes (or the journal's at a restore), followed; see {@link #apply}. */
  private final CommittedLeases committed;

  /**
   * The highest registration number given so far; a service has its newest registration's routes.
   */
  private long sequence;

  /**
   * @param nanoClock the time leases age on
   * @param wallClock the time written down and shown: registrations' times, expiries as stored,
   *     quarantines' times
   * @param journal where the embedded store's changes go before they are seen; {@link
   *     RegistryJournal#NONE} for a registry kept in memory only or by a shared store
   * @param quotas read anew for every registration: the settings may reload
   */
  RegistryEngine(
      LeasePolicy leasePolicy,
      LongSupplier nanoClock,
      Clock wallClock,
      RegistryJournal journal,
      Supplier<RegistryQuotas> quotas) {
    this.leasePolicy = Objects.requireNonNull(leasePolicy);
    this.nanoClock = Objects.requireNonNull(nanoClock);
    this.wallClock = Objects.requireNonNull(wallClock);
    this.writes = new JournalWrites(Objects.requireNonNull(journal));
    this.quarantines = new QuarantinedServices(this.wallClock);
    RouteClaims routeClaims = new RouteClaims();
    this.services = new DerivedServices(leases, routeClaims, quarantines);
    this.admission =
        new RegistrationAdmission(
            leases, routeClaims, Objects.requireNonNull(quotas), this.nanoClock);
    this.registrations =
        new RegistrationGroups(
            this,
            leases,
            services,
            quarantines,
            admission,
            writes,
            this.nanoClock,
            this.wallClock,
            () -> ++sequence);
    this.committed =
        new CommittedLeases(
            leases,
            services,
            quarantines,
            this.nanoClock,
            this.wallClock,
            taken -> sequence = Math.max(sequence, taken));
  }

  // ---- Checks, for a shared store deciding in its own transactions.

  /**
   * @throws RouteConflictException when a route of the registration would take another service's
   *     requests
   */
  synchronized void checkRoutesFree(Registration registration) {
    admission.checkRoutesFree(registration);
  }

  /**
   * @throws QuotaExceededException when registering it would take more of the registry than a quota
   *     allows
   */
  void checkQuotas(Registration registration) {
    // Measured outside the lock: it walks the registration.
    long bytes = registration.approximateBytes();
    synchronized (this) {
      admission.checkQuotas(registration, bytes, services.get(registration.service()));
    }
  }

  /**
   * Checks that {@code registrant} may register the lease's instance again, renew or deregister the
   * lease; an unknown lease passes (the caller answers as for any unknown lease).
   *
   * @throws NotLeaseOwnerException when the lease is live and another identity's
   */
  synchronized void checkLeaseOwner(String leaseId, String registrant) {
    admission.checkLeaseOwner(leaseId, registrant);
  }

  // ---- Changes committed by a back end (a shared store, or the journal at a restore).

  /**
   * Applies changes already committed elsewhere, in their order ({@link CommittedLeases#apply});
   * listeners hear once.
   */
  void apply(List<StoredLease> puts, List<String> removals) {
    boolean changed;
    // Measured outside the lock: each walks its registration.
    long[] bytes = puts.stream().mapToLong(put -> put.registration().approximateBytes()).toArray();
    synchronized (this) {
      changed = committed.apply(puts, bytes, removals);
    }
    if (changed) {
      notifyListeners();
    }
  }

  /** Moves the expiry of known leases to the wall-clock instants given; unknown ids are ignored. */
  synchronized void setExpiries(Map<String, Instant> expiries) {
    committed.setExpiries(expiries);
  }

  // ---- Changes decided here and written to the journal (the embedded store).

  /**
   * Registers as one of a group, committed to the journal together ({@link RegistrationGroups});
   * nothing is seen before the commit, and a failed commit fails the whole group with UNAVAILABLE.
   * A registration refused on its own merits (route taken, quota, owner) fails alone.
   */
  Lease register(Registration registration, Optional<Duration> requestedTtl) {
    RegistrationGroups.Registered registered =
        registrations.register(registration, leasePolicy.grant(requestedTtl));
    if (registered.changed()) {
      notifyListeners();
    }
    return registered.lease();
  }

  /**
   * Renews a live lease of {@code registrant} (any lease when empty); an expired one stays gone
   * even if the reaper has not removed it yet: the client must register again.
   */
  synchronized Optional<Lease> renew(String leaseId, String registrant) {
    LiveLease lease = leases.byLease(leaseId);
    long now = nanoClock.getAsLong();
    if (lease == null || lease.expiredAt(now)) {
      return Optional.empty();
    }
    admission.checkLeaseOwner(lease, registrant);
    leases.extend(lease, now + lease.ttl.toNanos());
    lease.renewed = true;
    return Optional.of(new Lease(leaseId, lease.ttl));
  }

  boolean deregister(String leaseId, String registrant) {
    boolean changed;
    synchronized (this) {
      LiveLease lease = leases.byLease(leaseId);
      if (lease == null) {
        return false;
      }
      admission.checkLeaseOwner(lease, registrant);
      services.setCause(RegistryState.cause("deregister", registrant));
      writes.commit(j -> j.remove(leaseId));
      changed = remove(lease);
    }
    if (changed) {
      notifyListeners();
    }
    return true;
  }

  /** Removes the expired leases that {@code which} selects; returns how many. */
  int expire(Predicate<LiveLease> which) {
    boolean changed = false;
    List<LiveLease> expired;
    synchronized (this) {
      services.setCause("lease expired");
      expired = leases.expired(nanoClock.getAsLong(), which);
      // Expiry happens even while the disk fails (recovery rewrites the journal): a dead instance
      // must leave EDS.
      writes.commitIfHealthy(j -> expired.forEach(lease -> j.remove(lease.leaseId)));
      for (LiveLease lease : expired) {
        changed |= remove(lease);
      }
    }
    if (changed) {
      notifyListeners();
    }
    return expired.size();
  }

  RegisteredInstance setDrained(String service, String instanceId, boolean drained, String by) {
    boolean changed;
    RegisteredInstance view;
    synchronized (this) {
      LiveLease lease = leases.live(service, instanceId);
      changed = lease.drained != drained;
      if (changed) {
        lease.drained = drained;
        try {
          writes.commit(j -> j.put(lease.stored(wallClock.instant())));
        } catch (RuntimeException e) {
          lease.drained = !drained;
          throw e;
        }
        services.setCause(RegistryState.cause(drained ? "drain" : "undrain", by));
        services.recompute(service);
      }
      view = lease.view(nanoClock.getAsLong());
    }
    if (changed) {
      notifyListeners();
    }
    return view;
  }

  /**
   * Sets the status the instance reports of itself; false when the lease is unknown or expired.
   *
   * @throws NotLeaseOwnerException when the lease is live and another identity's
   */
  boolean setServing(String leaseId, boolean serving, String registrant) {
    boolean changed;
    synchronized (this) {
      LiveLease lease = leases.byLease(leaseId);
      if (lease == null || lease.expiredAt(nanoClock.getAsLong())) {
        return false;
      }
      admission.checkLeaseOwner(lease, registrant);
      changed = lease.notServing == serving;
      if (changed) {
        lease.notServing = !serving;
        try {
          writes.commit(j -> j.put(lease.stored(wallClock.instant())));
        } catch (RuntimeException e) {
          lease.notServing = serving;
          throw e;
        }
        services.setCause(RegistryState.cause(serving ? "serving" : "not serving", registrant));
        services.recompute(lease.service());
      }
    }
    if (changed) {
      notifyListeners();
    }
    return true;
  }

  List<String> evict(String service, Optional<String> instanceId, String by) {
    List<String> evicted;
    synchronized (this) {
      List<LiveLease> evicting =
          instanceId.isPresent()
              ? List.of(leases.live(service, instanceId.get()))
              : List.copyOf(leases.live(service).values());
      evicted = evicting.stream().map(LiveLease::instanceId).sorted().toList();
      removeAll(evicting, RegistryState.cause("evict", by));
    }
    notifyListeners();
    return evicted;
  }

  /**
   * The live registrations {@code refusal} refuses, by lease id. Judged outside the lock, on the
   * registrations as they stood when read, so registrations go on meanwhile.
   */
  SortedMap<String, RefusedLeases.Refused> refused(
      Function<Registration, Optional<String>> refusal) {
    Map<String, Registration> live = new HashMap<>();
    synchronized (this) {
      leases.all().forEach(lease -> live.put(lease.leaseId, lease.registration));
    }
    return RefusedLeases.judge(live, refusal);
  }

  /**
   * Deregisters, in one change, the refused leases that still hold the registration judged (one
   * registered again meanwhile was admitted by the policy in force, and stays).
   */
  List<RevokedRegistration> revoke(Function<Registration, Optional<String>> refusal, String by) {
    SortedMap<String, RefusedLeases.Refused> refused = refused(refusal);
    if (refused.isEmpty()) {
      return List.of();
    }
    List<LiveLease> revoking;
    synchronized (this) {
      revoking =
          refused.keySet().stream()
              .map(leases::byLease)
              .filter(
                  lease ->
                      lease != null
                          && lease.registration == refused.get(lease.leaseId).registration())
              .toList();
      if (revoking.isEmpty()) {
        return List.of();
      }
      removeAll(revoking, by);
    }
    notifyListeners();
    return RefusedLeases.revoked(revoking.stream().map(lease -> refused.get(lease.leaseId)));
  }

  boolean evictIfStillDrained(String service, String instanceId, String leaseId) {
    synchronized (this) {
      LiveLease lease = leases.of(service, instanceId);
      if (lease == null || !lease.drained || !lease.leaseId.equals(leaseId)) {
        return false;
      }
      services.setCause("evict at the end of its drain");
      writes.commit(j -> j.remove(leaseId));
      remove(lease);
    }
    notifyListeners();
    return true;
  }

  /**
   * Whether the journal takes writes; false after a failed write until {@link #recoverJournal()}
   * succeeds.
   */
  boolean journalHealthy() {
    return writes.healthy();
  }

  /**
   * After a failed write, tries to rewrite the journal from memory; returns whether it is healthy.
   */
  synchronized boolean recoverJournal() {
    return writes.recover(
        () -> {
          Instant now = wallClock.instant();
          return leases.all().stream().map(lease -> lease.stored(now)).toList();
        });
  }

  // ---- Reads.

  @Override
  public synchronized RegistryState state() {
    return services.state();
  }

  @Override
  public synchronized RegistryState servedState() {
    return services.servedState();
  }

  @Override
  public void addChangeListener(Runnable listener) {
    listeners.add(listener);
  }

  /**
   * How many services and instances (drained ones included) are live: cheap, for gauges read on
   * every scrape.
   */
  public synchronized int serviceCount() {
    return leases.serviceCount();
  }

  public synchronized int instanceCount() {
    return leases.leaseCount();
  }

  public synchronized List<RegisteredInstance> registeredInstances() {
    return leases.views(nanoClock.getAsLong());
  }

  /**
   * A live (service, instance) as the admin API shows it.
   *
   * @throws NotRegisteredException naming the service or the instance that is not registered
   */
  synchronized RegisteredInstance registeredInstance(String service, String instanceId) {
    return leases.live(service, instanceId).view(nanoClock.getAsLong());
  }

  /** The lease id of a live (service, instance), if any. */
  synchronized Optional<String> leaseIdOf(String service, String instanceId) {
    return Optional.ofNullable(leases.of(service, instanceId)).map(lease -> lease.leaseId);
  }

  /** The lease ids of a service's live instances, or of one of them, by instance id. */
  synchronized SortedMap<String, String> leaseIdsOf(String service, Optional<String> instanceId) {
    return leases.leaseIdsOf(service, instanceId);
  }

  synchronized java.util.Set<String> leaseIds() {
    return leases.leaseIds();
  }

  synchronized RegistryStore.LeaseCounts leaseCounts() {
    return leases.counts(nanoClock.getAsLong());
  }

  // ---- Quarantines: judged by each control plane from the Envoys connected to it.

  @Override
  public boolean quarantine(
      String service, ServiceState rejected, long rejectedRevision, String reason) {
    synchronized (this) {
      if (!quarantines.quarantine(
          service, services.get(service), rejected, rejectedRevision, reason)) {
        return false;
      }
      services.changed(service);
    }
    notifyListeners();
    return true;
  }

  public synchronized SortedMap<String, Quarantine> quarantined() {
    return quarantines.copy();
  }

  /**
   * @throws NotRegisteredException when the service is not registered
   */
  public Optional<Quarantine> releaseQuarantine(String service) {
    Quarantine released;
    synchronized (this) {
      leases.live(service);
      released = quarantines.release(service);
      if (released != null) {
        services.changed(service);
      }
    }
    if (released != null) {
      notifyListeners();
    }
    return Optional.ofNullable(released);
  }

  // ---- Shared by the changes above.

  /**
   * Removes leases in one change, written to the journal first: one by one but under one lock, and
   * listeners (told by the caller, after the lock) hear of it once, so nobody sees half of it.
   */
  private void removeAll(List<LiveLease> removing, String cause) {
    services.setCause(cause);
    writes.commit(j -> removing.forEach(lease -> j.remove(lease.leaseId)));
    removing.forEach(this::remove);
  }

  /** Removes from memory; the caller has written the removal to the journal. */
  private boolean remove(LiveLease lease) {
    leases.remove(lease);
    return services.recompute(lease.service());
  }

  private void notifyListeners() {
    listeners.forEach(Runnable::run);
  }
}
