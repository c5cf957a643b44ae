package io.signalbox.store;

import io.signalbox.model.Instance;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry in memory. One lock guards everything: registrations are small and rare compared to
 * how often the state is read, and a single lock makes the route-ownership check and the write one
 * atomic step.
 */
public final class InMemoryRegistryStore implements RegistryStore, RegistryAdmin, Quarantines {

  private static final Logger log = LoggerFactory.getLogger(InMemoryRegistryStore.class);

  /**
   * How many causes of removed services are kept for the history before they are forgotten at once.
   */
  private static final int MAX_REMOVED_CAUSES = 1_000;

  private final LeasePolicy leasePolicy;
  private final LongSupplier nanoClock;
  private final RegistryJournal journal;
  private final JournalWrites writes;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

  /** Registrations waiting for the lock; see {@link #register}. Its own lock, taken after ours. */
  private final List<QueuedRegistration> queue = new ArrayList<>();

  private final Supplier<RegistryQuotas> quotas;
  private final Map<String, Entry> entriesByLease = new HashMap<>();

  /** What the registry holds against its quotas. */
  private final QuotaLedger ledger = new QuotaLedger();

  /** Live entries by service, then by instance id. */
  private final Map<String, Map<String, Entry>> entriesByService = new HashMap<>();

  /** Persistent: each revision's state shares it, so a change copies nothing. */
  private PSortedMap<String, ServiceState> services = TreePMap.empty();

  /** The routes each service holds; derived from {@link #services}, kept for the capture check. */
  private final RouteClaims routeClaims = new RouteClaims();

  /** Services withheld from the served state; a quarantine ends with the service. */
  private final TreeMap<String, Quarantine> quarantines = new TreeMap<>();

  /** The revision at which a registration last changed each service. */
  private final Map<String, Long> registeredRevisions = new HashMap<>();

  /**
   * What last changed each service and who, for the history; see {@link RegistryState#changedBy()}.
   */
  private PSortedMap<String, String> changedBy = TreePMap.empty();

  /**
   * The cause of the change being made under the lock, recorded by {@link #recompute} for what it
   * changes.
   */
  private String cause = "";

  private long sequence;
  private long revision;
  private RegistryState cachedState = RegistryState.EMPTY;
  private RegistryState cachedServedState = RegistryState.EMPTY;

  public InMemoryRegistryStore(LeasePolicy leasePolicy) {
    this(leasePolicy, System::nanoTime);
  }

  public InMemoryRegistryStore(LeasePolicy leasePolicy, LongSupplier nanoClock) {
    this(leasePolicy, nanoClock, RegistryJournal.NONE, () -> RegistryQuotas.DEFAULT);
  }

  private InMemoryRegistryStore(
      LeasePolicy leasePolicy,
      LongSupplier nanoClock,
      RegistryJournal journal,
      Supplier<RegistryQuotas> quotas) {
    this.quotas = Objects.requireNonNull(quotas);
    this.leasePolicy = Objects.requireNonNull(leasePolicy);
    this.nanoClock = Objects.requireNonNull(nanoClock);
    this.journal = Objects.requireNonNull(journal);
    this.writes = new JournalWrites(journal);
  }

  /**
   * A store that writes every change to the journal before acknowledging it, rebuilt from what the
   * journal holds. Leases keep their ids; each lives at least {@code grace} from now (its own TTL
   * when empty), so that the instances get time to renew instead of expiring together because the
   * control plane was down.
   *
   * @throws StoreUnreadableException when the journal cannot be read
   */
  public static InMemoryRegistryStore restore(
      LeasePolicy leasePolicy, RegistryJournal journal, Optional<Duration> grace) {
    return restore(leasePolicy, System::nanoTime, journal, grace);
  }

  /**
   * As {@link #restore(LeasePolicy, RegistryJournal, Optional)}, with leases aging on {@code
   * nanoClock}.
   */
  public static InMemoryRegistryStore restore(
      LeasePolicy leasePolicy,
      LongSupplier nanoClock,
      RegistryJournal journal,
      Optional<Duration> grace) {
    return restore(leasePolicy, nanoClock, journal, grace, () -> RegistryQuotas.DEFAULT);
  }

  /**
   * As {@link #restore(LeasePolicy, LongSupplier, RegistryJournal, Optional)}, within {@code
   * quotas} (read anew for every registration: the settings may reload).
   */
  public static InMemoryRegistryStore restore(
      LeasePolicy leasePolicy,
      LongSupplier nanoClock,
      RegistryJournal journal,
      Optional<Duration> grace,
      Supplier<RegistryQuotas> quotas) {
    InMemoryRegistryStore store =
        new InMemoryRegistryStore(leasePolicy, nanoClock, journal, quotas);
    List<StoredLease> stored = new ArrayList<>(journal.load());
    stored.sort(Comparator.comparingLong(StoredLease::sequence));
    // Replayed in the order they were made, without the ownership check: they were accepted then,
    // and the first
    // owner of a route keeps it now as it did then. Each lives at least the grace period from now.
    Instant now = Instant.now();
    store.apply(
        stored.stream()
            .map(
                lease -> {
                  Instant graceEnds = now.plus(grace.orElse(lease.ttl()));
                  return lease.expiresAt().isAfter(graceEnds)
                      ? lease
                      : new StoredLease(
                          lease.registration(),
                          lease.leaseId(),
                          lease.sequence(),
                          lease.ttl(),
                          lease.registeredAt(),
                          graceEnds,
                          lease.drained());
                })
            .toList(),
        List.of());
    if (!stored.isEmpty()) {
      log.info(
          "Registry restored: {} lease(s) of {} service(s); each lives at least {} from now",
          stored.size(),
          store.entriesByService.size(),
          grace.map(Duration::toString).orElse("its TTL"));
    }
    return store;
  }

  /**
   * An engine for a store that keeps the registry elsewhere ({@link EtcdRegistryStore}): it holds
   * no journal and removes nothing by itself; changes come in through {@link #apply} in the order
   * the shared store made them, and the shared store decides when a lease has expired ({@link
   * #setExpiries}) and removes it there.
   */
  static InMemoryRegistryStore replica(LeasePolicy leasePolicy, Supplier<RegistryQuotas> quotas) {
    return new InMemoryRegistryStore(leasePolicy, System::nanoTime, RegistryJournal.NONE, quotas);
  }

  /**
   * @throws RouteConflictException when a route of the registration would take another service's
   *     requests
   */
  synchronized void checkRoutesFree(Registration registration) {
    routeClaims.check(registration);
  }

  /**
   * Checks a registration against the routes claimed by registrations of other services that commit
   * just before it (in the same transaction): the first owner of a route keeps it.
   *
   * @throws RouteConflictException naming the first of those services that claims one of its routes
   */
  static void checkRoutesUnclaimed(Registration registration, List<Registration> claimedFirst) {
    RouteClaims claims = new RouteClaims();
    for (Registration earlier : claimedFirst) {
      claims.claim(earlier.service(), earlier.routes());
    }
    claims.check(registration);
  }

  /**
   * @throws QuotaExceededException when registering it would take more of the registry than a quota
   *     allows
   */
  synchronized void checkQuotas(Registration registration) {
    checkQuotas(
        registration,
        entriesByService
            .getOrDefault(registration.service(), Map.of())
            .get(registration.instance().id()));
  }

  private void checkQuotas(Registration registration, Entry previous) {
    Map<String, Entry> instances = entriesByService.get(registration.service());
    ledger.check(
        quotas.get(),
        registration,
        previous == null ? null : previous.registration,
        services.get(registration.service()),
        entriesByService.size(),
        instances == null ? 0 : instances.size());
  }

  private void track(Entry entry) {
    entriesByLease.put(entry.leaseId, entry);
    ledger.instanceAdded(entry.registration);
  }

  /** Forgets a lease in the lease index and the quota counts; returns it (null stays null). */
  private Entry untrack(Entry entry) {
    if (entry != null && entriesByLease.remove(entry.leaseId) != null) {
      ledger.instanceRemoved(entry.registration);
    }
    return entry;
  }

  /** The lease id of a live (service, instance), if any. */
  synchronized Optional<String> leaseIdOf(String service, String instanceId) {
    return Optional.ofNullable(entriesByService.getOrDefault(service, Map.of()).get(instanceId))
        .map(entry -> entry.leaseId);
  }

  /** The lease ids of a service's live instances, or of one of them, by instance id. */
  synchronized java.util.SortedMap<String, String> leaseIdsOf(
      String service, Optional<String> instanceId) {
    java.util.SortedMap<String, String> ids = new TreeMap<>();
    if (instanceId.isPresent()) {
      ids.put(instanceId.get(), liveEntry(service, instanceId.get()).leaseId);
    } else {
      liveEntries(service).forEach((id, entry) -> ids.put(id, entry.leaseId));
    }
    return ids;
  }

  /**
   * A live (service, instance) as the admin API shows it.
   *
   * @throws NotRegisteredException naming the service or the instance that is not registered
   */
  synchronized RegisteredInstance registeredInstance(String service, String instanceId) {
    return liveEntry(service, instanceId).view(nanoClock.getAsLong());
  }

  /**
   * How many services and instances (drained ones included) are live: cheap, for gauges read on
   * every scrape.
   */
  public synchronized int serviceCount() {
    return entriesByService.size();
  }

  public synchronized int instanceCount() {
    return entriesByLease.size();
  }

  synchronized java.util.Set<String> leaseIds() {
    return java.util.Set.copyOf(entriesByLease.keySet());
  }

  /**
   * Applies changes already committed elsewhere (the shared store, or the journal at a restore), in
   * their order: puts replace the lease (and any other lease of the same instance), removals forget
   * it. No ownership check: the shared store's transaction made it. A put lease expires at its
   * {@link StoredLease#expiresAt()}, which the shared store may move ({@link #setExpiries}); it is
   * never removed here before the shared store reports its removal. Listeners hear once.
   */
  void apply(List<StoredLease> puts, List<String> removals) {
    boolean changed = false;
    synchronized (this) {
      long nowNanos = nanoClock.getAsLong();
      Instant now = Instant.now();
      for (StoredLease lease : puts) {
        Registration registration = lease.registration();
        Entry replaced = untrack(entriesByLease.get(lease.leaseId()));
        Map<String, Entry> instances =
            entriesByService.computeIfAbsent(registration.service(), s -> new HashMap<>());
        Entry sameInstance = instances.get(registration.instance().id());
        if (sameInstance != null) {
          untrack(entriesByLease.get(sameInstance.leaseId));
        }
        if (replaced != null && !replaced.registration.service().equals(registration.service())) {
          changed |= removeFromService(replaced);
        }
        Entry entry =
            new Entry(
                registration,
                lease.leaseId(),
                lease.sequence(),
                lease.ttl(),
                toNanos(lease.expiresAt(), now, nowNanos),
                lease.registeredAt());
        entry.drained = lease.drained();
        // Restored or replicated: it lived before, so it counts as a renewing instance for
        // mass-expiry protection.
        entry.renewed = true;
        cause =
            RegistryState.cause(lease.drained() ? "drain" : "register", registration.registrant());
        instances.put(registration.instance().id(), entry);
        track(entry);
        sequence = Math.max(sequence, lease.sequence());
        if (recompute(registration.service())) {
          changed = true;
          registeredRevisions.put(registration.service(), revision);
          releaseIfRegisteredAnew(registration.service());
        }
      }
      cause = "lease ended (deregistered, evicted or expired)";
      for (String leaseId : removals) {
        Entry entry = entriesByLease.get(leaseId);
        if (entry != null) {
          changed |= remove(entry);
        }
      }
    }
    if (changed) {
      notifyListeners();
    }
  }

  /** Moves the expiry of known leases to the wall-clock instants given; unknown ids are ignored. */
  synchronized void setExpiries(Map<String, Instant> expiries) {
    long nowNanos = nanoClock.getAsLong();
    Instant now = Instant.now();
    expiries.forEach(
        (leaseId, expiresAt) -> {
          Entry entry = entriesByLease.get(leaseId);
          if (entry != null) {
            entry.expiresAtNanos = toNanos(expiresAt, now, nowNanos);
          }
        });
  }

  private static long toNanos(Instant wallClock, Instant now, long nowNanos) {
    return nowNanos + Duration.between(now, wallClock).toNanos();
  }

  private boolean removeFromService(Entry entry) {
    Map<String, Entry> instances = entriesByService.get(entry.registration.service());
    if (instances != null && instances.get(entry.registration.instance().id()) == entry) {
      instances.remove(entry.registration.instance().id());
      if (instances.isEmpty()) {
        entriesByService.remove(entry.registration.service());
      }
    }
    return recompute(entry.registration.service());
  }

  /**
   * Registers as one of a group: the caller queues its registration, and whichever caller holds the
   * lock next makes every queued registration, in order, and commits them to the journal at once
   * (group commit; one journal commit per group instead of one per registration). Nothing is seen
   * before the commit: readers and listeners need the lock, and a failed commit undoes the group's
   * changes in memory before the lock is released, so the registry is as it was (every registration
   * of the group fails with UNAVAILABLE). A registration refused on its own merits (route taken,
   * quota, owner) fails alone.
   */
  @Override
  public Lease register(Registration registration, Optional<Duration> requestedTtl) {
    QueuedRegistration mine = new QueuedRegistration(registration, leasePolicy.grant(requestedTtl));
    synchronized (queue) {
      queue.add(mine);
    }
    synchronized (this) {
      if (!mine.done) {
        registerQueued();
      }
    }
    if (mine.failure != null) {
      throw mine.failure;
    }
    if (mine.changed) {
      notifyListeners();
    }
    return new Lease(mine.entry.leaseId, mine.ttl);
  }

  /** Makes every queued registration and commits them to the journal together; under the lock. */
  private void registerQueued() {
    List<QueuedRegistration> group;
    synchronized (queue) {
      group = List.copyOf(queue);
      queue.clear();
    }
    PSortedMap<String, ServiceState> servicesBefore = services;
    PSortedMap<String, String> changedByBefore = changedBy;
    long revisionBefore = revision;
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
            registeredRevisions.put(service, queued.revision);
            releaseIfRegisteredAnew(service);
          }
        }
      } catch (StoreUnavailableException e) {
        for (int i = made.size() - 1; i >= 0; i--) {
          undo(made.get(i));
        }
        // Every service is as before again; so are the maps derived from them, to the object.
        services = servicesBefore;
        changedBy = changedByBefore;
        revision = revisionBefore;
        made.forEach(queued -> queued.failure = e);
      }
    }
    group.forEach(queued -> queued.done = true);
  }

  /**
   * Checks a registration and makes it in memory, written to the journal but not committed.
   *
   * @throws RuntimeException when it is refused; nothing changed then
   */
  private void make(QueuedRegistration queued) {
    Registration registration = queued.registration;
    routeClaims.check(registration);
    Entry previous =
        entriesByService
            .getOrDefault(registration.service(), Map.of())
            .get(registration.instance().id());
    if (previous != null) {
      checkLeaseOwner(previous, registration.registrant());
    }
    checkQuotas(registration, previous);
    Entry entry =
        new Entry(
            registration,
            previous == null ? Lease.newId() : previous.leaseId,
            ++sequence,
            queued.ttl,
            nanoClock.getAsLong() + queued.ttl.toNanos(),
            previous == null ? Instant.now() : previous.registeredAt);
    // A drain belongs to the lease, so an instance that registers again while drained stays
    // drained.
    entry.drained = previous != null && previous.drained;
    writes.write(j -> j.put(entry.stored()));
    cause = RegistryState.cause("register", registration.registrant());
    entriesByService
        .computeIfAbsent(registration.service(), s -> new HashMap<>())
        .put(registration.instance().id(), entry);
    untrack(previous);
    track(entry);
    queued.previous = previous;
    queued.entry = entry;
    queued.changed = recompute(registration.service());
    queued.revision = revision;
  }

  /** Takes back {@link #make}: the instance's previous entry (or none) is live again. */
  private void undo(QueuedRegistration queued) {
    Registration registration = queued.registration;
    Map<String, Entry> instances = entriesByService.get(registration.service());
    untrack(queued.entry);
    if (queued.previous != null) {
      instances.put(registration.instance().id(), queued.previous);
      track(queued.previous);
    } else {
      instances.remove(registration.instance().id());
      if (instances.isEmpty()) {
        entriesByService.remove(registration.service());
      }
    }
    recompute(registration.service());
  }

  /** A registration waiting to be made; written under the store's lock. */
  private static final class QueuedRegistration {
    final Registration registration;
    final Duration ttl;
    Entry previous;
    Entry entry;
    boolean changed;
    long revision;
    RuntimeException failure;
    boolean done;

    QueuedRegistration(Registration registration, Duration ttl) {
      this.registration = registration;
      this.ttl = ttl;
    }
  }

  @Override
  public synchronized Optional<Lease> renew(String leaseId) {
    Entry entry = entriesByLease.get(leaseId);
    long now = nanoClock.getAsLong();
    // An expired lease stays gone even if the reaper has not removed it yet: the client must
    // register again.
    if (entry == null || now - entry.expiresAtNanos >= 0) {
      return Optional.empty();
    }
    entry.expiresAtNanos = now + entry.ttl.toNanos();
    entry.renewed = true;
    return Optional.of(new Lease(leaseId, entry.ttl));
  }

  @Override
  public synchronized Optional<Lease> renew(String leaseId, String registrant) {
    Entry entry = entriesByLease.get(leaseId);
    if (entry != null) {
      checkLeaseOwner(entry, registrant);
    }
    return renew(leaseId);
  }

  @Override
  public boolean deregister(String leaseId) {
    return deregister(leaseId, "");
  }

  @Override
  public boolean deregister(String leaseId, String registrant) {
    boolean changed;
    synchronized (this) {
      Entry entry = entriesByLease.get(leaseId);
      if (entry == null) {
        return false;
      }
      checkLeaseOwner(entry, registrant);
      cause = RegistryState.cause("deregister", registrant);
      writes.commit(j -> j.remove(leaseId));
      changed = remove(entry);
    }
    if (changed) {
      notifyListeners();
    }
    return true;
  }

  @Override
  public int expireLeases() {
    return expire(entry -> true);
  }

  private int expire(java.util.function.Predicate<Entry> which) {
    boolean changed = false;
    int expired = 0;
    synchronized (this) {
      long now = nanoClock.getAsLong();
      cause = "lease expired";
      List<Entry> expiredEntries =
          entriesByLease.values().stream()
              .filter(entry -> now - entry.expiresAtNanos >= 0 && which.test(entry))
              .toList();
      // Expiry happens even while the disk fails (recovery rewrites the journal): a dead instance
      // must leave EDS.
      writes.commitIfHealthy(j -> expiredEntries.forEach(entry -> j.remove(entry.leaseId)));
      for (Entry entry : expiredEntries) {
        changed |= remove(entry);
        expired++;
      }
    }
    if (changed) {
      notifyListeners();
    }
    return expired;
  }

  @Override
  public synchronized LeaseCounts leaseCounts() {
    long now = nanoClock.getAsLong();
    int expired = 0;
    int expiredNeverRenewed = 0;
    java.util.Set<String> identities = new java.util.HashSet<>();
    java.util.Set<String> expiredIdentities = new java.util.HashSet<>();
    for (Entry entry : entriesByLease.values()) {
      identities.add(entry.registration.registrant());
      if (now - entry.expiresAtNanos >= 0) {
        expired++;
        if (!entry.renewed) {
          expiredNeverRenewed++;
        } else {
          expiredIdentities.add(entry.registration.registrant());
        }
      }
    }
    return new LeaseCounts(
        entriesByLease.size(),
        expired,
        expiredNeverRenewed,
        identities.size(),
        expiredIdentities.size());
  }

  @Override
  public int expireNeverRenewedLeases() {
    return expire(entry -> !entry.renewed);
  }

  @Override
  public synchronized List<RegisteredInstance> registeredInstances() {
    long now = nanoClock.getAsLong();
    List<RegisteredInstance> instances = new ArrayList<>();
    new TreeMap<>(entriesByService)
        .forEach(
            (service, entries) ->
                new TreeMap<>(entries).values().forEach(entry -> instances.add(entry.view(now))));
    return instances;
  }

  @Override
  public RegisteredInstance setDrained(
      String service, String instanceId, boolean drained, String by) {
    boolean changed;
    RegisteredInstance view;
    synchronized (this) {
      Entry entry = liveEntry(service, instanceId);
      changed = entry.drained != drained;
      if (changed) {
        entry.drained = drained;
        try {
          writes.commit(j -> j.put(entry.stored()));
        } catch (RuntimeException e) {
          entry.drained = !drained;
          throw e;
        }
        cause = RegistryState.cause(drained ? "drain" : "undrain", by);
        recompute(service);
      }
      view = entry.view(nanoClock.getAsLong());
    }
    if (changed) {
      notifyListeners();
    }
    return view;
  }

  @Override
  public List<String> evict(String service, Optional<String> instanceId, String by) {
    List<String> evicted;
    synchronized (this) {
      List<Entry> entries =
          instanceId.isPresent()
              ? List.of(liveEntry(service, instanceId.get()))
              : List.copyOf(liveEntries(service).values());
      evicted = entries.stream().map(e -> e.registration.instance().id()).sorted().toList();
      cause = RegistryState.cause("evict", by);
      writes.commit(j -> entries.forEach(entry -> j.remove(entry.leaseId)));
      // Removed one by one but under one lock, and listeners hear of it once: nobody sees half an
      // eviction.
      entries.forEach(this::remove);
    }
    notifyListeners();
    return evicted;
  }

  @Override
  public boolean evictIfStillDrained(String service, String instanceId, String leaseId) {
    synchronized (this) {
      Entry entry = entriesByService.getOrDefault(service, Map.of()).get(instanceId);
      if (entry == null || !entry.drained || !entry.leaseId.equals(leaseId)) {
        return false;
      }
      cause = "evict at the end of its drain";
      writes.commit(j -> j.remove(leaseId));
      remove(entry);
    }
    notifyListeners();
    return true;
  }

  private Map<String, Entry> liveEntries(String service) {
    Map<String, Entry> entries = entriesByService.get(service);
    if (entries == null) {
      throw NotRegisteredException.service(service);
    }
    return entries;
  }

  private Entry liveEntry(String service, String instanceId) {
    Entry entry = liveEntries(service).get(instanceId);
    if (entry == null) {
      throw NotRegisteredException.instance(service, instanceId);
    }
    return entry;
  }

  /**
   * Whether the journal takes writes; false after a failed write until {@link #recoverJournal()}
   * succeeds.
   */
  public boolean journalHealthy() {
    return writes.healthy();
  }

  /**
   * After a failed write, tries to rewrite the journal from memory.
   *
   * @return whether the journal is healthy now
   */
  public synchronized boolean recoverJournal() {
    return writes.recover(() -> entriesByLease.values().stream().map(Entry::stored).toList());
  }

  @Override
  public synchronized RegistryState state() {
    if (cachedState.revision() != revision) {
      cachedState = new RegistryState(revision, services, changedBy);
    }
    return cachedState;
  }

  @Override
  public synchronized RegistryState servedState() {
    if (quarantines.isEmpty()) {
      return state();
    }
    if (cachedServedState.revision() != revision) {
      cachedServedState =
          new RegistryState(revision, services.minusAll(quarantines.keySet()), changedBy);
    }
    return cachedServedState;
  }

  @Override
  public boolean quarantine(
      String service, ServiceState rejected, long rejectedRevision, String reason) {
    synchronized (this) {
      ServiceState current = services.get(service);
      if (current == null
          || registeredRevisions.getOrDefault(service, 0L) > rejectedRevision
              && !current.equals(rejected)) {
        return false;
      }
      quarantines.put(service, new Quarantine(service, rejected, reason, Instant.now()));
      revision++;
    }
    notifyListeners();
    return true;
  }

  @Override
  public synchronized SortedMap<String, Quarantine> quarantined() {
    return java.util.Collections.unmodifiableSortedMap(new TreeMap<>(quarantines));
  }

  @Override
  public Optional<Quarantine> releaseQuarantine(String service) {
    Quarantine released;
    synchronized (this) {
      liveEntries(service);
      released = quarantines.remove(service);
      if (released != null) {
        revision++;
      }
    }
    if (released != null) {
      notifyListeners();
    }
    return Optional.ofNullable(released);
  }

  /** A registration that changes what Envoy rejected gives the service another chance. */
  private void releaseIfRegisteredAnew(String service) {
    Quarantine quarantine = quarantines.get(service);
    if (quarantine != null && !quarantine.rejected().equals(services.get(service))) {
      quarantines.remove(service);
      log.info(
          "Service {} registered with a changed state: released from quarantine, Envoy gets another try",
          service);
    }
  }

  @Override
  public void addChangeListener(Runnable listener) {
    listeners.add(listener);
  }

  /**
   * Checks, for the engine of {@link EtcdRegistryStore}, that {@code registrant} may register the
   * lease's instance again, renew or deregister the lease; an unknown lease passes (the caller
   * answers as for any unknown lease).
   *
   * @throws NotLeaseOwnerException when the lease is live and another identity's
   */
  synchronized void checkLeaseOwner(String leaseId, String registrant) {
    Entry entry = entriesByLease.get(leaseId);
    if (entry != null) {
      checkLeaseOwner(entry, registrant);
    }
  }

  /**
   * A live lease of another identity may be neither registered again, renewed nor deregistered by
   * {@code registrant}; an expired one (not yet removed) is nobody's any more.
   */
  private void checkLeaseOwner(Entry entry, String registrant) {
    if (nanoClock.getAsLong() - entry.expiresAtNanos < 0
        && NotLeaseOwnerException.ownedByAnother(entry.registration.registrant(), registrant)) {
      throw NotLeaseOwnerException.instance(
          entry.registration.service(), entry.registration.instance().id());
    }
  }

  /** Removes from memory; the caller has written the removal to the journal. */
  private boolean remove(Entry entry) {
    untrack(entriesByLease.get(entry.leaseId));
    Registration registration = entry.registration;
    Map<String, Entry> instances = entriesByService.get(registration.service());
    instances.remove(registration.instance().id());
    if (instances.isEmpty()) {
      entriesByService.remove(registration.service());
    }
    return recompute(registration.service());
  }

  /**
   * Rebuilds one service from its live registrations: the newest registration's routes, minus any
   * route that another service has come to own meanwhile (first owner keeps a route), and every
   * live instance that is not drained. A service whose instances are all drained keeps its routes
   * (and their ownership): Envoy answers 503.
   */
  private boolean recompute(String service) {
    List<Entry> live = List.copyOf(entriesByService.getOrDefault(service, Map.of()).values());
    ServiceState before = services.get(service);
    routeClaims.release(service);
    ServiceState after = null;
    if (!live.isEmpty()) {
      Entry newest = live.stream().max(Comparator.comparingLong(e -> e.sequence)).orElseThrow();
      List<RouteSpec> routes = new ArrayList<>();
      for (RouteSpec route : newest.registration.routes()) {
        if (routeClaims.conflict(newest.registration, route).isEmpty()) {
          routes.add(route);
        }
      }
      routeClaims.claim(service, routes);
      List<Instance> instances =
          live.stream()
              .filter(e -> !e.drained)
              .map(e -> e.registration.instance())
              .sorted(Comparator.comparing(Instance::id))
              .toList();
      after =
          new ServiceState(
              service,
              routes,
              instances,
              newest.registration.protocol(),
              newest.registration.traffic());
    }
    if (Objects.equals(before, after)) {
      return false;
    }
    ledger.serviceChanged(before, after);
    changedBy = changedBy.plus(service, cause);
    if (changedBy.size() > services.size() + MAX_REMOVED_CAUSES) {
      PSortedMap<String, ServiceState> current = services;
      changedBy =
          changedBy.minusAll(
              changedBy.keySet().stream()
                  .filter(name -> !current.containsKey(name) && !name.equals(service))
                  .toList());
    }
    if (after == null) {
      services = services.minus(service);
      registeredRevisions.remove(service);
      if (quarantines.remove(service) != null) {
        log.info("Service {} has no instance left: its quarantine ends with it", service);
      }
    } else {
      services = services.plus(service, after);
    }
    revision++;
    return true;
  }

  private void notifyListeners() {
    listeners.forEach(Runnable::run);
  }

  private static final class Entry {
    final Registration registration;
    final String leaseId;
    final long sequence;
    final Duration ttl;
    final Instant registeredAt;
    long expiresAtNanos;
    boolean drained;

    /**
     * Renewed at least once: an instance that keeps its lease, not one that registered and never
     * came back.
     */
    boolean renewed;

    Entry(
        Registration registration,
        String leaseId,
        long sequence,
        Duration ttl,
        long expiresAtNanos,
        Instant registeredAt) {
      this.registration = registration;
      this.leaseId = leaseId;
      this.sequence = sequence;
      this.ttl = ttl;
      this.expiresAtNanos = expiresAtNanos;
      this.registeredAt = registeredAt;
    }

    StoredLease stored() {
      Instant now = Instant.now();
      return new StoredLease(
          registration, leaseId, sequence, ttl, registeredAt, now.plus(ttl), drained);
    }

    RegisteredInstance view(long nowNanos) {
      Duration remaining = Duration.ofNanos(Math.max(0, expiresAtNanos - nowNanos));
      return new RegisteredInstance(
          registration.service(),
          registration.instance(),
          leaseId,
          ttl,
          remaining,
          registeredAt,
          drained);
    }
  }
}
