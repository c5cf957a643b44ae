package io.signalbox.store;

import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RegistryState;
import io.signalbox.model.ServiceState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded back end: the registry engine deciding every change itself, with the journal (when
 * one is given) as its durable log. Every change is in the journal before anyone sees it;
 * registrations are group-committed. At a start the journal is replayed into the engine.
 */
public final class InMemoryRegistryStore implements RegistryStore, RegistryAdmin, Quarantines {

  private static final Logger log = LoggerFactory.getLogger(InMemoryRegistryStore.class);

  private final RegistryEngine engine;

  public InMemoryRegistryStore(LeasePolicy leasePolicy) {
    this(leasePolicy, System::nanoTime);
  }

  public InMemoryRegistryStore(LeasePolicy leasePolicy, LongSupplier nanoClock) {
    this(
        new RegistryEngine(
            leasePolicy,
            nanoClock,
            Clock.systemUTC(),
            RegistryJournal.NONE,
            () -> RegistryQuotas.DEFAULT));
  }

  private InMemoryRegistryStore(RegistryEngine engine) {
    this.engine = engine;
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
    return restore(
        leasePolicy, nanoClock, Clock.systemUTC(), journal, grace, () -> RegistryQuotas.DEFAULT);
  }

  /**
   * As {@link #restore(LeasePolicy, LongSupplier, RegistryJournal, Optional)}, within {@code
   * quotas} (read anew for every registration: the settings may reload), with the registry's times
   * (registered, expires, "from now") read from {@code wallClock}.
   */
  public static InMemoryRegistryStore restore(
      LeasePolicy leasePolicy,
      LongSupplier nanoClock,
      Clock wallClock,
      RegistryJournal journal,
      Optional<Duration> grace,
      Supplier<RegistryQuotas> quotas) {
    RegistryEngine engine = new RegistryEngine(leasePolicy, nanoClock, wallClock, journal, quotas);
    List<StoredLease> stored = new ArrayList<>(journal.load());
    stored.sort(Comparator.comparingLong(StoredLease::sequence));
    // Replayed in the order they were made, without the ownership check: they were accepted then,
    // and the first owner of a route keeps it now as it did then. Each lives at least the grace
    // period from now.
    Instant now = wallClock.instant();
    engine.apply(
        stored.stream().map(lease -> livingAtLeast(lease, now, grace)).toList(), List.of());
    if (!stored.isEmpty()) {
      log.info(
          "Registry restored: {} lease(s) of {} service(s); each lives at least {} from now",
          stored.size(),
          engine.serviceCount(),
          grace.map(Duration::toString).orElse("its TTL"));
    }
    return new InMemoryRegistryStore(engine);
  }

  private static StoredLease livingAtLeast(
      StoredLease lease, Instant now, Optional<Duration> grace) {
    Instant graceEnds = now.plus(grace.orElse(lease.ttl()));
    return lease.expiresAt().isAfter(graceEnds) ? lease : lease.withExpiresAt(graceEnds);
  }

  /** The engine: what the gateway is built from, and what quarantines act on. */
  public RegistryEngine engine() {
    return engine;
  }

  @Override
  public Lease register(Registration registration, Optional<Duration> requestedTtl) {
    return engine.register(registration, requestedTtl);
  }

  @Override
  public Optional<Lease> renew(String leaseId) {
    return engine.renew(leaseId, "");
  }

  @Override
  public Optional<Lease> renew(String leaseId, String registrant) {
    return engine.renew(leaseId, registrant);
  }

  @Override
  public boolean deregister(String leaseId) {
    return engine.deregister(leaseId, "");
  }

  @Override
  public boolean deregister(String leaseId, String registrant) {
    return engine.deregister(leaseId, registrant);
  }

  @Override
  public boolean setServing(String leaseId, boolean serving, String registrant) {
    return engine.setServing(leaseId, serving, registrant);
  }

  @Override
  public int expireLeases() {
    return engine.expire(lease -> true);
  }

  @Override
  public int expireNeverRenewedLeases() {
    return engine.expire(lease -> !lease.renewed);
  }

  @Override
  public LeaseCounts leaseCounts() {
    return engine.leaseCounts();
  }

  @Override
  public RegistryState state() {
    return engine.state();
  }

  @Override
  public RegistryState servedState() {
    return engine.servedState();
  }

  @Override
  public void addChangeListener(Runnable listener) {
    engine.addChangeListener(listener);
  }

  /** How many services are live (drained ones included): cheap, for gauges. */
  public int serviceCount() {
    return engine.serviceCount();
  }

  /** How many instances are live (drained ones included): cheap, for gauges. */
  public int instanceCount() {
    return engine.instanceCount();
  }

  @Override
  public List<RegisteredInstance> registeredInstances() {
    return engine.registeredInstances();
  }

  @Override
  public RegisteredInstance setDrained(
      String service, String instanceId, boolean drained, String by) {
    return engine.setDrained(service, instanceId, drained, by);
  }

  @Override
  public List<String> evict(String service, Optional<String> instanceId, String by) {
    return engine.evict(service, instanceId, by);
  }

  @Override
  public List<RevokedRegistration> revoke(
      java.util.function.Function<Registration, Optional<String>> refusal, String by) {
    return engine.revoke(refusal, by);
  }

  @Override
  public boolean evictIfStillDrained(String service, String instanceId, String leaseId) {
    return engine.evictIfStillDrained(service, instanceId, leaseId);
  }

  @Override
  public boolean quarantine(
      String service, ServiceState rejected, long rejectedRevision, String reason) {
    return engine.quarantine(service, rejected, rejectedRevision, reason);
  }

  @Override
  public SortedMap<String, Quarantine> quarantined() {
    return engine.quarantined();
  }

  @Override
  public Optional<Quarantine> releaseQuarantine(String service) {
    return engine.releaseQuarantine(service);
  }

  /**
   * Whether the journal takes writes; false after a failed write until {@link #recoverJournal()}
   * succeeds.
   */
  public boolean journalHealthy() {
    return engine.journalHealthy();
  }

  /**
   * After a failed write, tries to rewrite the journal from memory.
   *
   * @return whether the journal is healthy now
   */
  public boolean recoverJournal() {
    return engine.recoverJournal();
  }
}
