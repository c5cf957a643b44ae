package io.signalbox.store;

import static io.signalbox.store.EtcdCalls.bytes;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RegistryState;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry kept in etcd and shared by several control-plane replicas. etcd holds one key per
 * live lease, {@code /signalbox/v1/leases/<lease id>} → the JSON of {@link StoredLeaseCodec}. Every
 * replica serves from its own in-memory engine, which applies etcd's changes from one watch in
 * etcd's order (its own writes included): replicas that have seen the same revision hold the same
 * state.
 *
 * <p>Writes are optimistic transactions guarded by {@code /signalbox/v1/guard}, which every
 * registration rewrites: a replica checks route ownership against its state, and the transaction
 * commits only if no other registration committed since the state it checked; otherwise it catches
 * up and checks again. So two replicas that register the same route at the same time cannot both
 * win. A change is acknowledged once etcd committed it and this replica's engine applied it.
 *
 * <p>Leases are Signalbox's, not etcd's, so that expiry can be held back as it is by the embedded
 * store: a lease expires at the latest of the expiry written with its registration, the one written
 * by its latest renewal ({@code renewals/<lease id>}, group-committed by {@link EtcdRenewals}) and,
 * after a cold start of the whole tier ({@code cold-start}, written by a replica that finds no
 * other one present, {@link ReplicaPresence}), the cold start plus the grace period. Every
 * replica's reaper expires leases with a delete guarded by the revisions it saw, so a renewal
 * committed meanwhile wins and two replicas expiring the same lease remove it once; and every
 * reaper applies the same mass-expiry protection to the same deadlines.
 */
public final class EtcdRegistryStore implements RegistryStore, RegistryAdmin, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EtcdRegistryStore.class);

  static final String ROOT = "/signalbox/v1/";
  static final String LEASES = ROOT + "leases/";
  static final String RENEWALS = ROOT + "renewals/";
  static final String REPLICAS = ROOT + "replicas/";
  static final String COLD_START = ROOT + "cold-start";
  static final String GUARD = ROOT + "guard";
  static final int MAX_ATTEMPTS = 50;

  /** How soon a replica that stopped without a word no longer counts as present. */
  static final Duration PRESENCE_TTL = Duration.ofSeconds(5);

  private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

  private final EtcdCalls etcd;
  private final RegistryEngine engine;
  private final LeasePolicy leasePolicy;
  private final ReplicaPresence presence;
  private final EtcdRenewals renewals;

  /** The registry's keys as this replica has applied them. */
  private final EtcdAppliedKeys keys;

  /** Keeps the engine and the keys equal to etcd's registry. */
  private final EtcdRegistryFeed feed;

  private final String replicaName;

  /** Wall time, shared with every replica through etcd: expiries, renewals, the cold start. */
  private final Clock wallClock;

  /**
   * Registrations waiting for the next transaction; only their writer thread commits registrations.
   */
  private final EtcdRegistrationBatches registrations;

  /** Commits this replica's registrations; only the batches' writer thread calls it. */
  private final EtcdRegistrationWriter writer;

  /** Rewrites and removes lease keys. */
  private final EtcdLeaseWrites leaseWrites;

  private EtcdRegistryStore(
      Client client,
      LeasePolicy leasePolicy,
      Duration timeout,
      String replicaName,
      Optional<Duration> leaseGrace,
      Supplier<RegistryQuotas> quotas,
      int readPageSize,
      Clock wallClock) {
    this.etcd = new EtcdCalls(client, timeout);
    this.wallClock = wallClock;
    this.leasePolicy = leasePolicy;
    // No journal: etcd orders and keeps every change; the engine applies them as etcd reports them.
    this.engine =
        new RegistryEngine(leasePolicy, System::nanoTime, wallClock, RegistryJournal.NONE, quotas);
    this.keys = new EtcdAppliedKeys(leaseGrace, timeout);
    this.feed = new EtcdRegistryFeed(etcd, engine, keys, readPageSize);
    this.writer = new EtcdRegistrationWriter(etcd, engine, keys, wallClock);
    this.leaseWrites = new EtcdLeaseWrites(etcd, keys);
    this.registrations = new EtcdRegistrationBatches(writer::write);
    // The first calls also open the connection (and load its classes): a cold JVM on a busy machine
    // took over a
    // second, so the start gets a longer budget than a registration's etcd call.
    EtcdCalls starting =
        new EtcdCalls(client, timeout.compareTo(START_TIMEOUT) > 0 ? timeout : START_TIMEOUT);
    this.replicaName = replicaName;
    this.presence =
        ReplicaPresence.join(
            starting,
            new EtcdCalls(client, Duration.ofMillis(PRESENCE_TTL.toMillis() * 3 / 10)),
            replicaName,
            PRESENCE_TTL);
    try {
      if (presence.others().isEmpty()) {
        // Nobody renewed anything while no replica ran: every lease gets the grace period, as after
        // a restart of
        // the embedded store. Written before the registry is read, so this replica reads it too.
        starting.await(
            etcd.client()
                .getKVClient()
                .put(bytes(COLD_START), bytes(Long.toString(wallClock.instant().toEpochMilli()))),
            "record a cold start");
      }
      int count = feed.readAll(starting);
      log.info(
          "Registry read from etcd at revision {}: {} lease(s); {}",
          appliedRevision(),
          count,
          presence.others().isEmpty()
              ? "no other replica is up, so every lease lives at least "
                  + leaseGrace.map(Duration::toString).orElse("its TTL")
                  + " from now"
              : "replicas already up: " + String.join(", ", presence.others()));
    } catch (RuntimeException e) {
      feed.close();
      presence.close();
      throw e;
    }
    this.renewals = new EtcdRenewals(etcd);
  }

  /**
   * Connects to etcd, marks this replica present and reads the whole registry before returning.
   *
   * @param connection etcd's endpoints, the timeout of one etcd call (after which a change fails
   *     with {@link StoreUnavailableException}), and optionally TLS files and a user with its
   *     password
   * @param replicaName this replica's name among the replicas, the same across its restarts
   * @param leaseGrace how long every lease lives at least after a cold start of the whole tier;
   *     empty means its TTL
   * @throws StoreUnavailableException when etcd cannot be read, including when its certificate is
   *     not trusted, it refuses the client certificate or the password (the message never holds the
   *     password or the key)
   */
  public static EtcdRegistryStore connect(
      EtcdConnection connection,
      LeasePolicy leasePolicy,
      String replicaName,
      Optional<Duration> leaseGrace) {
    return connect(
        connection,
        leasePolicy,
        replicaName,
        leaseGrace,
        () -> RegistryQuotas.DEFAULT,
        Clock.systemUTC());
  }

  /**
   * As {@link #connect(EtcdConnection, LeasePolicy, String, Optional)}, within {@code quotas},
   * reading wall time (expiries, renewals, the cold start) from {@code wallClock}. Each replica
   * judges quotas against what it has seen, so replicas registering at the same moment may
   * overshoot by a few.
   */
  public static EtcdRegistryStore connect(
      EtcdConnection connection,
      LeasePolicy leasePolicy,
      String replicaName,
      Optional<Duration> leaseGrace,
      Supplier<RegistryQuotas> quotas,
      Clock wallClock) {
    EtcdClients.checkAccess(connection);
    return connect(
        EtcdClients.open(connection),
        connection.timeout(),
        leasePolicy,
        replicaName,
        leaseGrace,
        quotas,
        EtcdRegistryFeed.READ_PAGE_SIZE,
        wallClock);
  }

  /**
   * As {@link #connect(EtcdConnection, LeasePolicy, String, Optional, Supplier, Clock)}, through
   * {@code client}, which the store closes, reading the registry whole {@code readPageSize} keys at
   * a time.
   */
  static EtcdRegistryStore connect(
      Client client,
      Duration timeout,
      LeasePolicy leasePolicy,
      String replicaName,
      Optional<Duration> leaseGrace,
      Supplier<RegistryQuotas> quotas,
      int readPageSize,
      Clock wallClock) {
    try {
      return new EtcdRegistryStore(
          client,
          Objects.requireNonNull(leasePolicy),
          timeout,
          Objects.requireNonNull(replicaName),
          Objects.requireNonNull(leaseGrace),
          Objects.requireNonNull(quotas),
          readPageSize,
          Objects.requireNonNull(wallClock));
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  @Override
  public Lease register(Registration registration, Optional<Duration> requestedTtl) {
    Duration ttl = leasePolicy.grant(requestedTtl);
    CompletableFuture<Lease> answer = registrations.register(registration, ttl);
    try {
      return answer.get();
    } catch (InterruptedException e) {
      // Not written if not yet in a transaction.
      answer.cancel(false);
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while waiting for etcd", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException failure) {
        throw failure;
      }
      throw new StoreUnavailableException(
          "etcd: registration of " + registration.service() + " failed: " + e.getCause(),
          e.getCause());
    }
  }

  /**
   * Writes the renewal (group-committed with others) and answers once etcd holds it. An expired
   * lease stays gone, as in the embedded store, even while expiry is held back: the client
   * registers again and keeps its lease id.
   */
  @Override
  public Optional<Lease> renew(String leaseId) {
    Optional<EtcdAppliedKeys.WrittenLease> lease = keys.liveLease(leaseId, wallClock.instant());
    if (lease.isEmpty()) {
      return Optional.empty();
    }
    Duration ttl = lease.get().ttl();
    boolean written =
        etcd.await(
            renewals.renew(leaseId, wallClock.instant().plus(ttl)),
            "renew a lease"); // the id is a credential: never in an error
    return written ? Optional.of(new Lease(leaseId, ttl)) : Optional.empty();
  }

  /**
   * As {@link #renew(String)}, checked against this replica's copy of the lease: a lease's
   * registrant changes only when the instance registers again, which another identity cannot do
   * while the lease is live.
   */
  @Override
  public Optional<Lease> renew(String leaseId, String registrant) {
    engine.checkLeaseOwner(leaseId, registrant);
    return renew(leaseId);
  }

  /**
   * As {@link #deregister(String)}, checked against this replica's copy of the lease (see {@link
   * #renew(String, String)}).
   */
  @Override
  public boolean deregister(String leaseId, String registrant) {
    engine.checkLeaseOwner(leaseId, registrant);
    return deregister(leaseId);
  }

  @Override
  public boolean deregister(String leaseId) {
    if (keys.lease(leaseId) == null) {
      return false;
    }
    EtcdCalls.Committed removed =
        etcd.commitAll(
            List.of(EtcdLeaseWrites.removal(leaseId, Optional.empty())), "deregister a lease");
    keys.await(removed.revision());
    return removed.count() == 1;
  }

  /**
   * Removes every lease whose expiry has passed, each only if neither its key nor its renewal
   * changed since this replica read them: a renewal committed meanwhile wins, and a lease another
   * replica expired first is not counted twice. Renewal keys left by a renewal that raced a removal
   * go too.
   */
  @Override
  public int expireLeases() {
    EtcdAppliedKeys.ExpirySweep sweep = keys.expirySweep(replicaName, wallClock.instant());
    List<EtcdCalls.GuardedWrite> writes = new ArrayList<>();
    for (EtcdAppliedKeys.ExpiredLease expired : sweep.leases()) {
      EtcdCalls.GuardedWrite removal =
          EtcdLeaseWrites.removal(expired.leaseId(), Optional.of(expired.leaseRevision()));
      removal
          .conditions()
          .add(
              new Cmp(
                  bytes(RENEWALS + expired.leaseId()),
                  Cmp.Op.EQUAL,
                  CmpTarget.modRevision(expired.renewalRevision())));
      writes.add(removal);
    }
    int leaseRemovals = writes.size();
    for (EtcdAppliedKeys.StrayRenewal stray : sweep.renewals()) {
      writes.add(
          new EtcdCalls.GuardedWrite(
              List.of(
                  new Cmp(
                      bytes(RENEWALS + stray.leaseId()),
                      Cmp.Op.EQUAL,
                      CmpTarget.modRevision(stray.modRevision()))),
              List.of(Op.delete(bytes(RENEWALS + stray.leaseId()), DeleteOption.DEFAULT))));
    }
    if (writes.isEmpty()) {
      return 0;
    }
    EtcdCalls.Committed committed = etcd.commitAll(writes, "expire " + leaseRemovals + " lease(s)");
    keys.await(committed.revision());
    return (int)
        committed.committed().subList(0, leaseRemovals).stream()
            .filter(Boolean::booleanValue)
            .count();
  }

  /**
   * The replicas whose presence mark this replica has seen in etcd, itself included while its mark
   * holds.
   */
  public List<String> presentReplicas() {
    return keys.presentReplicas();
  }

  /**
   * Whether this replica is, as of now, the one that removes expired leases: the first present
   * replica by name. One remover instead of all of them racing for the same deletes; when its mark
   * lapses (stopped, or cut off from etcd), the next one takes over within the mark's TTL. Any
   * replica could do it safely (the deletes are guarded).
   */
  public boolean removesExpiredLeases() {
    return keys.firstPresent(replicaName);
  }

  @Override
  public LeaseCounts leaseCounts() {
    return keys.leaseCounts(wallClock.instant());
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

  @Override
  public List<RegisteredInstance> registeredInstances() {
    return engine.registeredInstances();
  }

  /**
   * Rewrites the lease with the drain mark; the registration order stays, so a drain never changes
   * which registration sets the service's routes.
   */
  @Override
  public RegisteredInstance setDrained(
      String service, String instanceId, boolean drained, String by) {
    String leaseId = engine.registeredInstance(service, instanceId).leaseId();
    if (!leaseWrites.rewrite(
        leaseId,
        lease -> lease.withDrained(drained),
        (drained ? "drain " : "undrain ") + service + "/" + instanceId)) {
      throw NotRegisteredException.instance(service, instanceId);
    }
    return engine.registeredInstance(service, instanceId);
  }

  /** Rewrites the lease with the instance's own serving status, as a drain does. */
  @Override
  public boolean setServing(String leaseId, boolean serving, String registrant) {
    engine.checkLeaseOwner(leaseId, registrant);
    return leaseWrites.rewrite(
        leaseId,
        lease -> lease.withNotServing(!serving),
        // The lease id is a credential: the message names the instance instead.
        "set the serving status of an instance");
  }

  /**
   * Removes the instances' lease keys in as few transactions as etcd allows: one for a service of
   * up to 32 instances, so nobody sees half of it evicted.
   */
  @Override
  public List<String> evict(String service, Optional<String> instanceId, String by) {
    java.util.SortedMap<String, String> evicted = engine.leaseIdsOf(service, instanceId);
    EtcdCalls.Committed removed =
        etcd.commitAll(
            evicted.values().stream()
                .map(leaseId -> EtcdLeaseWrites.removal(leaseId, Optional.empty()))
                .toList(),
            "evict " + service);
    keys.await(removed.revision());
    return List.copyOf(evicted.keySet());
  }

  /** Removes the refused leases' keys; each replica applies the removals as they come. */
  @Override
  public List<RevokedRegistration> revoke(
      java.util.function.Function<io.signalbox.model.Registration, Optional<String>> refusal,
      String by) {
    return leaseWrites.revoke(engine.refused(refusal), "remove the leases " + by);
  }

  /** Removes the lease only if its key is still the drained one this replica read. */
  @Override
  public boolean evictIfStillDrained(String service, String instanceId, String leaseId) {
    EtcdAppliedKeys.WrittenLease written = keys.lease(leaseId);
    if (written == null
        || !written.value().drained()
        || !written.value().registration().service().equals(service)
        || !written.value().registration().instance().id().equals(instanceId)) {
      return false;
    }
    EtcdCalls.Committed removed =
        etcd.commitAll(
            List.of(EtcdLeaseWrites.removal(leaseId, Optional.of(written.modRevision()))),
            "evict drained " + service + "/" + instanceId);
    keys.await(removed.revision());
    return removed.count() == 1;
  }

  /** Quarantines are judged by each replica from the Envoys connected to it. */
  @Override
  public java.util.SortedMap<String, Quarantine> quarantined() {
    return engine.quarantined();
  }

  @Override
  public Optional<Quarantine> releaseQuarantine(String service) {
    return engine.releaseQuarantine(service);
  }

  /**
   * The registry engine this back end feeds: the gateway is built from it, quarantines act on it.
   */
  public RegistryEngine engine() {
    return engine;
  }

  /** The etcd revision this replica has applied. */
  public long appliedRevision() {
    return keys.appliedRevision();
  }

  @Override
  public void close() {
    feed.close();
    registrations.close();
    renewals.close();
    presence.close();
    etcd.client().close();
  }
}
