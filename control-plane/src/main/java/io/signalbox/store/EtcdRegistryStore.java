package io.signalbox.store;

import static io.signalbox.store.EtcdCalls.bytes;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RegistryState;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
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
  private final Optional<Duration> leaseGrace;
  private final ReplicaPresence presence;
  private final EtcdRenewals renewals;
  private volatile Watch.Watcher watcher;

  /**
   * Keys per read of the whole registry: 500 leases of a few KB each stay well under gRPC's message
   * limit.
   */
  private volatile int readPageSize = 500;

  /** Reads the registry again when the watch has ended for good. */
  private final java.util.concurrent.ScheduledExecutorService resyncs =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "etcd-resync");
            thread.setDaemon(true);
            return thread;
          });

  /** The etcd revision up to which the engine has applied every change; guarded by {@code this}. */
  private long appliedRevision;

  /** The mod revision of the guard key in the applied state; guarded by {@code this}. */
  private long guardRevision;

  /** Every lease key as applied, by lease id; guarded by {@code this}. */
  private final Map<String, WrittenLease> leases = new HashMap<>();

  /** Every renewal key as applied, by lease id; guarded by {@code this}. */
  private final Map<String, WrittenRenewal> renewed = new HashMap<>();

  /** When the tier last started cold, if ever; guarded by {@code this}. */
  private Instant coldStart;

  /**
   * The replicas whose presence mark is in etcd, this one included while its mark holds; guarded by
   * {@code this}.
   */
  private final java.util.TreeSet<String> present = new java.util.TreeSet<>();

  private final String replicaName;
  private volatile boolean closed;

  /**
   * Registrations waiting for the next transaction; only their writer thread commits registrations.
   */
  private final EtcdRegistrationBatches registrations;

  /** Commits this replica's registrations; only the batches' writer thread calls it. */
  private final EtcdRegistrationWriter writer;

  /** A lease key as applied: its mod revision (for guarded rewrites and deletes) and its value. */
  record WrittenLease(long modRevision, StoredLease value) {

    Instant expiresAt() {
      return value.expiresAt();
    }

    Duration ttl() {
      return value.ttl();
    }
  }

  private record WrittenRenewal(long modRevision, Instant expiresAt) {}

  private EtcdRegistryStore(
      Client client,
      LeasePolicy leasePolicy,
      Duration timeout,
      String replicaName,
      Optional<Duration> leaseGrace,
      Supplier<RegistryQuotas> quotas) {
    this.etcd = new EtcdCalls(client, timeout);
    this.leasePolicy = leasePolicy;
    this.leaseGrace = leaseGrace;
    // No journal: etcd orders and keeps every change; the engine applies them as etcd reports them.
    this.engine = new RegistryEngine(leasePolicy, System::nanoTime, RegistryJournal.NONE, quotas);
    this.writer = new EtcdRegistrationWriter(etcd, engine, new AppliedKeys());
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
                .put(bytes(COLD_START), bytes(Long.toString(Instant.now().toEpochMilli()))),
            "record a cold start");
      }
      int count = readAll(starting);
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
      presence.close();
      throw e;
    }
    this.renewals = new EtcdRenewals(etcd);
  }

  /**
   * Reads the whole registry, makes the engine hold exactly that, and follows it from there with a
   * new watch. Returns how many leases there are.
   */
  private int readAll(EtcdCalls calls) {
    List<KeyValue> kvs = new ArrayList<>();
    long revision = readPages(calls, kvs);
    kvs.sort(Comparator.comparingLong(KeyValue::getModRevision));
    List<StoredLease> puts = new ArrayList<>();
    long guard = 0;
    synchronized (this) {
      leases.clear();
      renewed.clear();
      present.clear();
      for (KeyValue kv : kvs) {
        String key = string(kv.getKey());
        if (key.equals(GUARD)) {
          guard = kv.getModRevision();
        } else {
          readKey(key, kv, puts);
        }
      }
      puts.replaceAll(this::withExpiry);
    }
    java.util.Set<String> gone = new java.util.HashSet<>(engine.leaseIds());
    puts.forEach(lease -> gone.remove(lease.leaseId()));
    engine.apply(puts, List.copyOf(gone));
    synchronized (this) {
      guardRevision = guard;
      appliedRevision = revision;
      notifyAll();
    }
    this.watcher =
        etcd.client()
            .getWatchClient()
            .watch(
                bytes(ROOT),
                WatchOption.builder().isPrefix(true).withRevision(revision + 1).build(),
                Watch.listener(this::onWatch, this::onWatchError));
    detachFromEtcdLeases(calls, kvs);
    return puts.size();
  }

  /**
   * Lease keys written by the first design hang on etcd leases that nothing renews any more: etcd
   * would delete them all about one TTL after the upgrade, at once and past any protection. They
   * are written again without one (only if unchanged since read), and from then on expire like
   * every other lease.
   */
  private void detachFromEtcdLeases(EtcdCalls calls, List<KeyValue> kvs) {
    List<EtcdCalls.GuardedWrite> detach =
        kvs.stream()
            .filter(kv -> kv.getLease() != 0 && string(kv.getKey()).startsWith(LEASES))
            .map(
                kv ->
                    new EtcdCalls.GuardedWrite(
                        List.of(
                            new Cmp(
                                kv.getKey(),
                                Cmp.Op.EQUAL,
                                CmpTarget.modRevision(kv.getModRevision()))),
                        // With its registration order written out: the rewrite's own revision must
                        // not become its order.
                        List.of(
                            Op.put(
                                kv.getKey(),
                                ByteSequence.from(StoredLeaseCodec.encode(decode(kv))),
                                PutOption.DEFAULT))))
            .toList();
    if (!detach.isEmpty()) {
      try {
        int detached = calls.commitAll(detach, "detach lease keys from etcd leases").count();
        log.info(
            "{} lease key(s) written by an earlier version on etcd leases now expire as Signalbox leases",
            detached);
      } catch (StoreUnavailableException e) {
        // The registry was read: serving it beats refusing to start. The next read of the registry
        // tries again.
        log.warn(
            "{} lease key(s) of an earlier version are still on etcd leases ({}); etcd expires them unless "
                + "they are detached at the next read of the registry",
            detach.size(),
            e.getMessage());
      }
    }
  }

  /**
   * Reads every key under the root, in pages all at the revision of the first: one answer for
   * 10,000 leases went over gRPC's 4 MiB message limit. Returns that revision.
   */
  private long readPages(EtcdCalls calls, List<KeyValue> kvs) {
    ByteSequence end = OptionsUtil.prefixEndOf(bytes(ROOT));
    ByteSequence from = bytes(ROOT);
    long revision = 0;
    while (true) {
      GetOption.Builder page = GetOption.builder().withRange(end).withLimit(readPageSize);
      if (revision > 0) {
        page.withRevision(revision);
      }
      GetResponse response =
          calls.await(etcd.client().getKVClient().get(from, page.build()), "read the registry");
      if (revision == 0) {
        revision = response.getHeader().getRevision();
      }
      kvs.addAll(response.getKvs());
      if (!response.isMore() || response.getKvs().isEmpty()) {
        return revision;
      }
      // Keys come in key order: the next page starts just after the last key read.
      from =
          response
              .getKvs()
              .get(response.getKvs().size() - 1)
              .getKey()
              .concat(ByteSequence.from(new byte[] {0}));
    }
  }

  /** Fault injection for tests: smaller pages, so that a few leases span several. */
  void readPageSizeForTest(int keys) {
    this.readPageSize = keys;
  }

  /**
   * Takes in one put key of the registry (lease, renewal or cold start); a lease it holds goes to
   * {@code puts}. Returns whether it moved an expiry.
   */
  private boolean readKey(String key, KeyValue kv, List<StoredLease> puts) {
    if (key.startsWith(LEASES)) {
      StoredLease lease = decode(kv);
      leases.put(lease.leaseId(), new WrittenLease(kv.getModRevision(), lease));
      puts.add(lease);
      return false;
    }
    if (key.startsWith(RENEWALS)) {
      renewed.put(
          key.substring(RENEWALS.length()),
          new WrittenRenewal(
              kv.getModRevision(), Instant.ofEpochMilli(Long.parseLong(string(kv.getValue())))));
      return true;
    }
    if (key.equals(COLD_START)) {
      coldStart = Instant.ofEpochMilli(Long.parseLong(string(kv.getValue())));
      return true;
    }
    if (key.startsWith(REPLICAS)) {
      present.add(key.substring(REPLICAS.length()));
    }
    return false;
  }

  /**
   * When a lease expires: the latest of its registration, its latest renewal and a cold start's
   * grace.
   */
  private Instant expiryOf(String leaseId) {
    WrittenLease lease = leases.get(leaseId);
    Instant expiry = lease.expiresAt();
    WrittenRenewal renewal = renewed.get(leaseId);
    if (renewal != null && renewal.expiresAt().isAfter(expiry)) {
      expiry = renewal.expiresAt();
    }
    if (coldStart != null) {
      Instant graceEnds = coldStart.plus(leaseGrace.orElse(lease.ttl()));
      if (graceEnds.isAfter(expiry)) {
        expiry = graceEnds;
      }
    }
    return expiry;
  }

  private StoredLease withExpiry(StoredLease lease) {
    return lease.withExpiresAt(expiryOf(lease.leaseId()));
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
    return connect(connection, leasePolicy, replicaName, leaseGrace, () -> RegistryQuotas.DEFAULT);
  }

  /**
   * As {@link #connect(EtcdConnection, LeasePolicy, String, Optional)}, within {@code quotas}. Each
   * replica judges quotas against what it has seen, so replicas registering at the same moment may
   * overshoot by a few.
   */
  public static EtcdRegistryStore connect(
      EtcdConnection connection,
      LeasePolicy leasePolicy,
      String replicaName,
      Optional<Duration> leaseGrace,
      Supplier<RegistryQuotas> quotas) {
    EtcdClients.checkAccess(connection);
    Client client = EtcdClients.open(connection);
    try {
      return new EtcdRegistryStore(
          client,
          Objects.requireNonNull(leasePolicy),
          connection.timeout(),
          Objects.requireNonNull(replicaName),
          Objects.requireNonNull(leaseGrace),
          Objects.requireNonNull(quotas));
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
   * Registration transactions sent to etcd, committed or not: with registrations committed, shows
   * batching.
   */
  long registrationTransactionsForTest() {
    return writer.transactions();
  }

  long registrationsCommittedForTest() {
    return writer.committed();
  }

  /**
   * Writes the renewal (group-committed with others) and answers once etcd holds it. An expired
   * lease stays gone, as in the embedded store, even while expiry is held back: the client
   * registers again and keeps its lease id.
   */
  @Override
  public Optional<Lease> renew(String leaseId) {
    Duration ttl;
    synchronized (this) {
      WrittenLease lease = leases.get(leaseId);
      if (lease == null || !expiryOf(leaseId).isAfter(Instant.now())) {
        return Optional.empty();
      }
      ttl = lease.ttl();
    }
    boolean written =
        etcd.await(
            renewals.renew(leaseId, Instant.now().plus(ttl)),
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
    synchronized (this) {
      if (!leases.containsKey(leaseId)) {
        return false;
      }
    }
    EtcdCalls.Committed removed =
        etcd.commitAll(List.of(removal(leaseId, Optional.empty())), "deregister a lease");
    awaitApplied(removed.revision());
    return removed.count() == 1;
  }

  /**
   * Removes the lease key and its renewal. With a revision, only if the lease key is still the one
   * seen then (so that a drain undone or a registration made meanwhile wins); else only if it
   * exists.
   */
  private static EtcdCalls.GuardedWrite removal(String leaseId, Optional<Long> leaseRevision) {
    Cmp condition =
        leaseRevision
            .map(
                revision ->
                    new Cmp(bytes(LEASES + leaseId), Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
            .orElseGet(
                () -> new Cmp(bytes(LEASES + leaseId), Cmp.Op.GREATER, CmpTarget.version(0)));
    return new EtcdCalls.GuardedWrite(
        new ArrayList<>(List.of(condition)),
        List.of(
            Op.delete(bytes(LEASES + leaseId), DeleteOption.DEFAULT),
            Op.delete(bytes(RENEWALS + leaseId), DeleteOption.DEFAULT)));
  }

  /**
   * Removes every lease whose expiry has passed, each only if neither its key nor its renewal
   * changed since this replica read them: a renewal committed meanwhile wins, and a lease another
   * replica expired first is not counted twice. Renewal keys left by a renewal that raced a removal
   * go too.
   */
  @Override
  public int expireLeases() {
    Instant now = Instant.now();
    List<EtcdCalls.GuardedWrite> writes = new ArrayList<>();
    int leaseWrites;
    synchronized (this) {
      if (!expiresLeases()) {
        return 0;
      }
      for (Map.Entry<String, WrittenLease> lease : leases.entrySet()) {
        String leaseId = lease.getKey();
        if (!expiryOf(leaseId).isAfter(now)) {
          EtcdCalls.GuardedWrite removal =
              removal(leaseId, Optional.of(lease.getValue().modRevision()));
          WrittenRenewal renewal = renewed.get(leaseId);
          removal
              .conditions()
              .add(
                  new Cmp(
                      bytes(RENEWALS + leaseId),
                      Cmp.Op.EQUAL,
                      CmpTarget.modRevision(renewal == null ? 0 : renewal.modRevision())));
          writes.add(removal);
        }
      }
      leaseWrites = writes.size();
      renewed.forEach(
          (leaseId, renewal) -> {
            if (!leases.containsKey(leaseId) && !renewal.expiresAt().isAfter(now)) {
              writes.add(
                  new EtcdCalls.GuardedWrite(
                      List.of(
                          new Cmp(
                              bytes(RENEWALS + leaseId),
                              Cmp.Op.EQUAL,
                              CmpTarget.modRevision(renewal.modRevision()))),
                      List.of(Op.delete(bytes(RENEWALS + leaseId), DeleteOption.DEFAULT))));
            }
          });
    }
    if (writes.isEmpty()) {
      return 0;
    }
    EtcdCalls.Committed committed = etcd.commitAll(writes, "expire " + leaseWrites + " lease(s)");
    awaitApplied(committed.revision());
    return (int)
        committed.committed().subList(0, leaseWrites).stream()
            .filter(Boolean::booleanValue)
            .count();
  }

  /**
   * The replicas whose presence mark this replica has seen in etcd, itself included while its mark
   * holds.
   */
  public synchronized List<String> presentReplicas() {
    return List.copyOf(present);
  }

  /** Whether this replica is, as of now, the one that removes expired leases. */
  public synchronized boolean removesExpiredLeases() {
    return expiresLeases();
  }

  /**
   * Whether this replica is the one that removes expired leases: the first present replica by name.
   * One remover instead of all of them racing for the same deletes; when its mark lapses (stopped,
   * or cut off from etcd), the next one takes over within the mark's TTL. Any replica could do it
   * safely (the deletes are guarded).
   */
  private boolean expiresLeases() {
    return !present.isEmpty() && present.first().equals(replicaName);
  }

  @Override
  public synchronized LeaseCounts leaseCounts() {
    Instant now = Instant.now();
    int expired =
        (int) leases.keySet().stream().filter(leaseId -> !expiryOf(leaseId).isAfter(now)).count();
    return new LeaseCounts(leases.size(), expired);
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
    if (!rewriteLease(
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
    return rewriteLease(
        leaseId,
        lease -> lease.withNotServing(!serving),
        // The lease id is a credential: the message names the instance instead.
        "set the serving status of an instance");
  }

  /**
   * Rewrites a lease key as {@code change} makes it from the value of the very revision compared
   * against (so nothing written meanwhile is lost; a change to the same value writes nothing), with
   * the expiry as written: a drain or a status neither renews nor shortens the lease. Reads again
   * and retries when someone changed it since. Returns false when the lease is gone.
   */
  private boolean rewriteLease(String leaseId, UnaryOperator<StoredLease> change, String what) {
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      WrittenLease written;
      synchronized (this) {
        written = leases.get(leaseId);
      }
      if (written == null) {
        return false;
      }
      StoredLease changed = change.apply(written.value());
      if (changed.equals(written.value())) {
        return true;
      }
      ByteSequence key = bytes(LEASES + leaseId);
      TxnResponse response =
          etcd.await(
              etcd.client()
                  .getKVClient()
                  .txn()
                  .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(written.modRevision())))
                  .Then(
                      Op.put(
                          key,
                          ByteSequence.from(StoredLeaseCodec.encode(changed)),
                          PutOption.DEFAULT))
                  .Else(Op.get(key, GetOption.DEFAULT))
                  .commit(),
              what);
      if (response.isSucceeded()) {
        awaitApplied(response.getHeader().getRevision());
        return true;
      }
      List<KeyValue> now = response.getGetResponses().get(0).getKvs();
      if (now.isEmpty()) {
        // Removed meanwhile (expired or deregistered).
        return false;
      }
      awaitApplied(now.get(0).getModRevision());
    }
    throw new StoreUnavailableException(
        "etcd: could not " + what + ": its lease kept changing; try again", null);
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
            evicted.values().stream().map(leaseId -> removal(leaseId, Optional.empty())).toList(),
            "evict " + service);
    awaitApplied(removed.revision());
    return List.copyOf(evicted.keySet());
  }

  /** Removes the lease only if its key is still the drained one this replica read. */
  @Override
  public boolean evictIfStillDrained(String service, String instanceId, String leaseId) {
    WrittenLease written;
    synchronized (this) {
      written = leases.get(leaseId);
    }
    if (written == null
        || !written.value().drained()
        || !written.value().registration().service().equals(service)
        || !written.value().registration().instance().id().equals(instanceId)) {
      return false;
    }
    EtcdCalls.Committed removed =
        etcd.commitAll(
            List.of(removal(leaseId, Optional.of(written.modRevision()))),
            "evict drained " + service + "/" + instanceId);
    awaitApplied(removed.revision());
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
  public synchronized long appliedRevision() {
    return appliedRevision;
  }

  @Override
  public void close() {
    closed = true;
    resyncs.shutdownNow();
    watcher.close();
    registrations.close();
    renewals.close();
    presence.close();
    etcd.client().close();
  }

  private void onWatch(WatchResponse response) {
    List<StoredLease> puts = new ArrayList<>();
    List<String> removals = new ArrayList<>();
    Map<String, Instant> expiries = new HashMap<>();
    long newestRevision = 0;
    long newestGuard = 0;
    boolean guardMoved = false;
    synchronized (this) {
      boolean everyExpiryMoved = false;
      java.util.Set<String> renewedNow = new java.util.HashSet<>();
      for (WatchEvent event : response.getEvents()) {
        KeyValue kv = event.getKeyValue();
        String key = string(kv.getKey());
        newestRevision = Math.max(newestRevision, kv.getModRevision());
        if (key.equals(GUARD)) {
          // The last event wins: a deleted guard (an operator cleared the prefix) compares as
          // revision 0.
          newestGuard =
              event.getEventType() == WatchEvent.EventType.DELETE ? 0 : kv.getModRevision();
          guardMoved = true;
        } else if (event.getEventType() == WatchEvent.EventType.PUT) {
          try {
            if (readKey(key, kv, puts)) {
              everyExpiryMoved |= key.equals(COLD_START);
              renewedNow.add(key.substring(key.lastIndexOf('/') + 1));
            }
            if (key.startsWith(LEASES)) {
              // Removed and written again in one response (expired, then registered again under its
              // id): it stays.
              removals.remove(key.substring(LEASES.length()));
            }
          } catch (RuntimeException e) {
            log.error(
                "etcd key {} holds nothing this version can read ({}); ignored",
                key,
                e.getMessage());
          }
        } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
          if (key.startsWith(LEASES)) {
            String leaseId = key.substring(LEASES.length());
            leases.remove(leaseId);
            puts.removeIf(lease -> lease.leaseId().equals(leaseId));
            removals.add(leaseId);
          } else if (key.startsWith(RENEWALS)) {
            renewed.remove(key.substring(RENEWALS.length()));
          } else if (key.startsWith(REPLICAS)) {
            present.remove(key.substring(REPLICAS.length()));
          }
        }
      }
      puts.replaceAll(this::withExpiry);
      for (String leaseId : everyExpiryMoved ? leases.keySet() : renewedNow) {
        if (leases.containsKey(leaseId)) {
          expiries.put(leaseId, expiryOf(leaseId));
        }
      }
    }
    engine.apply(puts, removals);
    engine.setExpiries(expiries);
    synchronized (this) {
      appliedRevision = Math.max(appliedRevision, newestRevision);
      if (guardMoved) {
        guardRevision = newestGuard;
      }
      notifyAll();
    }
  }

  /**
   * jetcd resumes the watch from the last revision it delivered after a lost connection (tested);
   * after a final error (e.g. etcd compacted the revisions this replica missed) it closes the
   * watch, and the replica reads the whole registry again instead of serving a registry that no
   * longer moves.
   */
  private void onWatchError(Throwable error) {
    if (closed) {
      return;
    }
    log.warn("etcd watch: {}", error.getMessage());
    resyncs.schedule(this::resyncIfWatchEnded, 100, TimeUnit.MILLISECONDS);
  }

  private void resyncIfWatchEnded() {
    if (closed || !watcher.isClosed()) {
      return;
    }
    try {
      int leases = readAll(etcd);
      log.warn(
          "etcd watch had ended: registry read again at revision {} ({} lease(s))",
          appliedRevision(),
          leases);
    } catch (RuntimeException e) {
      log.warn(
          "etcd watch had ended and the registry cannot be read yet ({}); trying again",
          e.getMessage());
      resyncs.schedule(this::resyncIfWatchEnded, 1, TimeUnit.SECONDS);
    }
  }

  /**
   * Fault injection for tests: the watch ends as jetcd ends it after a final error, which it then
   * reports.
   */
  void endWatchForTest() {
    watcher.close();
  }

  void reportWatchErrorForTest() {
    onWatchError(new IllegalStateException("watch ended by the test"));
  }

  /** What the registration writer reads of this replica's applied keys. */
  private final class AppliedKeys implements EtcdRegistrationWriter.Applied {
    @Override
    public long guardRevision() {
      synchronized (EtcdRegistryStore.this) {
        return guardRevision;
      }
    }

    @Override
    public WrittenLease lease(String leaseId) {
      synchronized (EtcdRegistryStore.this) {
        return leases.get(leaseId);
      }
    }

    @Override
    public void await(long revision) {
      awaitApplied(revision);
    }
  }

  private synchronized void awaitApplied(long revision) {
    long deadline = System.nanoTime() + etcd.timeout().toNanos();
    while (appliedRevision < revision) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new StoreUnavailableException(
            "etcd committed revision "
                + revision
                + " but this replica's watch "
                + "has only reached "
                + appliedRevision
                + " after "
                + etcd.timeout(),
            null);
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreUnavailableException("interrupted while waiting for etcd", e);
      }
    }
  }

  /**
   * The lease as stored, ordered by etcd: the mod revision is its registration order on every
   * replica.
   */
  private StoredLease decode(KeyValue kv) {
    StoredLease value = StoredLeaseCodec.decode(kv.getValue().getBytes());
    // A registration is written with sequence 0 and ordered by its commit; a rewrite (drain) keeps
    // that order.
    long sequence = value.sequence() > 0 ? value.sequence() : kv.getModRevision();
    return value.withSequence(sequence);
  }

  private static String string(ByteSequence bytes) {
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
