package io.signalbox.store;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry kept in etcd and shared by several control-plane replicas. etcd holds one key per live lease,
 * {@code /signalbox/v1/leases/<lease id>} → the JSON of {@link StoredLeaseCodec}, attached to an etcd lease of the
 * registration's TTL. Every replica serves from its own in-memory engine, which applies etcd's changes from one watch
 * in etcd's order (its own writes included): replicas that have seen the same revision hold the same state.
 *
 * <p>Writes are optimistic transactions guarded by {@code /signalbox/v1/guard}, which every registration rewrites: a
 * replica checks route ownership against its state, and the transaction commits only if no other registration
 * committed since the state it checked; otherwise it catches up and checks again. So two replicas that register the
 * same route at the same time cannot both win. A change is acknowledged once etcd committed it and this replica's
 * engine applied it.
 *
 * <p>Leases are etcd leases: a keep-alive received by any replica renews the etcd lease, and etcd deletes the key
 * when it expires, which every replica sees as a removal. So expiry needs no leader among the replicas; the price is
 * that {@link #expireLeases()} does nothing here and mass-expiry protection does not apply (etcd expires on its own).
 */
public final class EtcdRegistryStore implements RegistryStore, RegistryAdmin, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(EtcdRegistryStore.class);

  static final String ROOT = "/signalbox/v1/";
  static final String LEASES = ROOT + "leases/";
  static final String GUARD = ROOT + "guard";
  private static final int MAX_ATTEMPTS = 50;

  private final Client client;
  private final InMemoryRegistryStore engine;
  private final LeasePolicy leasePolicy;
  private final Duration timeout;
  private volatile Watch.Watcher watcher;
  /** Reads the registry again when the watch has ended for good. */
  private final java.util.concurrent.ScheduledExecutorService resyncs =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "etcd-resync");
        thread.setDaemon(true);
        return thread;
      });
  /** The etcd revision up to which the engine has applied every change; guarded by {@code this}. */
  private long appliedRevision;
  /** The mod revision of the guard key in the applied state; guarded by {@code this}. */
  private long guardRevision;
  private volatile boolean closed;
  private final Object registrationLock = new Object();
  /** The mod revision of each lease key as applied, for rewrites that must not overwrite a newer write. */
  private final java.util.Map<String, Long> modRevisions = new java.util.HashMap<>();

  private EtcdRegistryStore(Client client, LeasePolicy leasePolicy, Duration timeout) {
    this.client = client;
    this.leasePolicy = leasePolicy;
    this.timeout = timeout;
    this.engine = InMemoryRegistryStore.replica(leasePolicy);
    int leases = readAll();
    log.info("Registry read from etcd at revision {}: {} lease(s)", appliedRevision(), leases);
  }

  /**
   * Reads the whole registry, makes the engine hold exactly that, and follows it from there with a new watch.
   * Returns how many leases there are.
   */
  private int readAll() {
    GetResponse all = await(client.getKVClient().get(bytes(ROOT), GetOption.builder().isPrefix(true).build()),
        "read the registry");
    List<KeyValue> kvs = new ArrayList<>(all.getKvs());
    kvs.sort(Comparator.comparingLong(KeyValue::getModRevision));
    List<StoredLease> puts = new ArrayList<>();
    java.util.Map<String, Long> written = new java.util.HashMap<>();
    long guard = 0;
    for (KeyValue kv : kvs) {
      String key = string(kv.getKey());
      if (key.equals(GUARD)) {
        guard = kv.getModRevision();
      } else if (key.startsWith(LEASES)) {
        puts.add(decode(kv));
        written.put(key.substring(LEASES.length()), kv.getModRevision());
      }
    }
    java.util.Set<String> gone = new java.util.HashSet<>(engine.leaseIds());
    gone.removeAll(written.keySet());
    engine.apply(puts, List.copyOf(gone));
    synchronized (modRevisions) {
      modRevisions.clear();
      modRevisions.putAll(written);
    }
    long revision = all.getHeader().getRevision();
    synchronized (this) {
      guardRevision = guard;
      appliedRevision = revision;
      notifyAll();
    }
    this.watcher = client.getWatchClient().watch(bytes(ROOT),
        WatchOption.builder().isPrefix(true).withRevision(revision + 1).build(),
        Watch.listener(this::onWatch, this::onWatchError));
    return puts.size();
  }

  /**
   * Connects to etcd and reads the whole registry before returning.
   *
   * @param timeout how long one etcd call may take before the change fails with {@link StoreUnavailableException}
   * @throws StoreUnavailableException when etcd cannot be read
   */
  public static EtcdRegistryStore connect(List<String> endpoints, LeasePolicy leasePolicy, Duration timeout) {
    Client client = Client.builder()
        .endpoints(endpoints.toArray(String[]::new))
        .connectTimeout(timeout)
        .retryMaxDuration(timeout)
        .build();
    try {
      return new EtcdRegistryStore(client, Objects.requireNonNull(leasePolicy), Objects.requireNonNull(timeout));
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
  }

  @Override
  public Lease register(Registration registration, Optional<Duration> requestedTtl) {
    Duration ttl = leasePolicy.grant(requestedTtl);
    long ttlSeconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
    Optional<StoredLease> existing = engine.storedLease(registration.service(), registration.instance().id());
    long etcdLease = existing.map(lease -> etcdLeaseId(lease.leaseId()))
        .orElseGet(() -> grant(ttlSeconds));
    // One guarded transaction at a time per replica: concurrent ones would all but one fail on the guard and retry
    // (at 16 in flight, some gave up after 50 attempts). Replicas still race each other, and the guard decides.
    synchronized (registrationLock) {
      return registerSerially(registration, ttl, ttlSeconds, existing, etcdLease);
    }
  }

  private Lease registerSerially(Registration registration, Duration ttl, long ttlSeconds,
                                 Optional<StoredLease> existing, long etcdLease) {
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      String leaseId = leaseId(etcdLease);
      long guardSeen;
      synchronized (this) {
        guardSeen = guardRevision;
      }
      engine.checkRoutesFree(registration);
      Instant now = Instant.now();
      // Sequence 0: the commit's revision becomes the registration order. A drain belongs to the lease and stays.
      StoredLease stored = new StoredLease(registration, leaseId, 0, ttl,
          existing.map(StoredLease::registeredAt).orElse(now), now.plus(ttl),
          existing.map(StoredLease::drained).orElse(false));
      TxnResponse response;
      try {
        response = await(client.getKVClient().txn()
            .If(new Cmp(bytes(GUARD), Cmp.Op.EQUAL, CmpTarget.modRevision(guardSeen)))
            .Then(Op.put(bytes(LEASES + leaseId), ByteSequence.from(StoredLeaseCodec.encode(stored)),
                    PutOption.builder().withLeaseId(etcdLease).build()),
                Op.put(bytes(GUARD), bytes(leaseId), PutOption.DEFAULT))
            .Else(Op.get(bytes(GUARD), GetOption.DEFAULT))
            .commit(), "register " + registration.service() + "/" + registration.instance().id());
      } catch (StoreUnavailableException e) {
        if (existing.isPresent() && leaseNotFound(e)) {
          // The lease ran out between reading it and writing: the instance registers anew.
          existing = Optional.empty();
          etcdLease = grant(ttlSeconds);
          continue;
        }
        throw e;
      }
      if (response.isSucceeded()) {
        if (existing.isPresent()) {
          // A registration renews its lease, as it does in memory.
          await(client.getLeaseClient().keepAliveOnce(etcdLease), "renew lease " + leaseId);
        }
        awaitApplied(response.getHeader().getRevision());
        return new Lease(leaseId, ttl);
      }
      // Another registration committed since the state checked above: catch up with it and check again.
      List<KeyValue> guard = response.getGetResponses().isEmpty() ? List.of()
          : response.getGetResponses().get(0).getKvs();
      awaitApplied(guard.isEmpty() ? response.getHeader().getRevision() : guard.get(0).getModRevision());
    }
    throw new StoreUnavailableException("etcd: registration of " + registration.service() + " kept conflicting "
        + "with concurrent registrations; try again", null);
  }

  private long grant(long ttlSeconds) {
    return await(client.getLeaseClient().grant(ttlSeconds), "grant a lease").getID();
  }

  private static boolean leaseNotFound(StoreUnavailableException e) {
    return e.getCause() != null && String.valueOf(e.getCause().getMessage()).contains("lease not found");
  }

  @Override
  public Optional<Lease> renew(String leaseId) {
    if (!engine.knows(leaseId)) {
      return Optional.empty();
    }
    long ttl;
    try {
      ttl = await(client.getLeaseClient().keepAliveOnce(etcdLeaseId(leaseId)), "renew lease " + leaseId).getTTL();
    } catch (StoreUnavailableException e) {
      if (leaseNotFound(e)) {
        return Optional.empty();
      }
      throw e;
    }
    return ttl <= 0 ? Optional.empty() : Optional.of(new Lease(leaseId, Duration.ofSeconds(ttl)));
  }

  @Override
  public boolean deregister(String leaseId) {
    if (!engine.knows(leaseId)) {
      return false;
    }
    long revision;
    try {
      revision = await(client.getLeaseClient().revoke(etcdLeaseId(leaseId)), "deregister " + leaseId)
          .getHeader().getRevision();
    } catch (StoreUnavailableException e) {
      if (leaseNotFound(e)) {
        return false;
      }
      throw e;
    }
    awaitApplied(revision);
    return true;
  }

  /** etcd expires leases itself and every replica hears of it through the watch. */
  @Override
  public int expireLeases() {
    return 0;
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

  @Override
  public List<RegisteredInstance> registeredInstances() {
    return engine.registeredInstances();
  }

  /**
   * Rewrites the lease with the drain mark, only if nobody changed it since it was read (else reads it again); the
   * registration order stays, so a drain never changes which registration sets the service's routes.
   */
  @Override
  public RegisteredInstance setDrained(String service, String instanceId, boolean drained) {
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      StoredLease current = engine.storedLease(service, instanceId)
          .orElseThrow(() -> engine.registeredInstances().stream().anyMatch(i -> i.service().equals(service))
              ? NotRegisteredException.instance(service, instanceId) : NotRegisteredException.service(service));
      if (current.drained() != drained) {
        StoredLease changed = new StoredLease(current.registration(), current.leaseId(), current.sequence(),
            current.ttl(), current.registeredAt(), current.expiresAt(), drained);
        ByteSequence key = bytes(LEASES + current.leaseId());
        TxnResponse response = await(client.getKVClient().txn()
            .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(appliedModRevision(current))))
            .Then(Op.put(key, ByteSequence.from(StoredLeaseCodec.encode(changed)),
                PutOption.builder().withLeaseId(etcdLeaseId(current.leaseId())).build()))
            .Else(Op.get(key, GetOption.DEFAULT))
            .commit(), (drained ? "drain " : "undrain ") + service + "/" + instanceId);
        List<KeyValue> now = response.isSucceeded() || response.getGetResponses().isEmpty() ? List.of()
            : response.getGetResponses().get(0).getKvs();
        awaitApplied(response.isSucceeded() || now.isEmpty() ? response.getHeader().getRevision()
            : now.get(0).getModRevision());
        if (!response.isSucceeded()) {
          continue;
        }
      }
      return engine.registeredInstances().stream()
          .filter(i -> i.service().equals(service) && i.instance().id().equals(instanceId))
          .findFirst()
          .orElseThrow(() -> NotRegisteredException.instance(service, instanceId));
    }
    throw new StoreUnavailableException("etcd: the lease of " + service + "/" + instanceId + " kept changing; try "
        + "again", null);
  }

  /** Revokes the instances' etcd leases, one by one: an eviction of a whole service is not one atomic step here. */
  @Override
  public List<String> evict(String service, Optional<String> instanceId) {
    java.util.SortedMap<String, String> leases = engine.leaseIdsOf(service, instanceId);
    for (String leaseId : leases.values()) {
      deregister(leaseId);
    }
    return List.copyOf(leases.keySet());
  }

  @Override
  public boolean evictIfStillDrained(String service, String instanceId, String leaseId) {
    Optional<StoredLease> current = engine.storedLease(service, instanceId);
    if (current.isEmpty() || !current.get().drained() || !current.get().leaseId().equals(leaseId)) {
      return false;
    }
    return deregister(leaseId);
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

  /** The in-memory engine: admin views and quarantines read it. */
  public InMemoryRegistryStore engine() {
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
    client.close();
  }

  private void onWatch(WatchResponse response) {
    List<StoredLease> puts = new ArrayList<>();
    List<String> removals = new ArrayList<>();
    java.util.Map<String, Long> written = new java.util.HashMap<>();
    long newestRevision = 0;
    long newestGuard = 0;
    for (WatchEvent event : response.getEvents()) {
      KeyValue kv = event.getKeyValue();
      String key = string(kv.getKey());
      newestRevision = Math.max(newestRevision, kv.getModRevision());
      if (key.equals(GUARD)) {
        newestGuard = Math.max(newestGuard, kv.getModRevision());
      } else if (key.startsWith(LEASES)) {
        String leaseId = key.substring(LEASES.length());
        if (event.getEventType() == WatchEvent.EventType.PUT) {
          try {
            puts.add(decode(kv));
            written.put(leaseId, kv.getModRevision());
          } catch (RuntimeException e) {
            log.error("etcd key {} holds no lease this version can read ({}); ignored", key, e.getMessage());
          }
        } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
          removals.add(leaseId);
          written.remove(leaseId);

        }
      }
    }
    // One response holds whole revisions, in order: puts and removals of one revision never touch the same lease.
    engine.apply(puts, removals);
    // After the engine: a rewrite compares against a revision never newer than the content it read.
    synchronized (modRevisions) {
      modRevisions.keySet().removeAll(removals);
      modRevisions.putAll(written);
    }
    synchronized (this) {
      appliedRevision = Math.max(appliedRevision, newestRevision);
      guardRevision = Math.max(guardRevision, newestGuard);
      notifyAll();
    }
  }

  /**
   * jetcd resumes the watch from the last revision it delivered after a lost connection (tested); after a final
   * error (e.g. etcd compacted the revisions this replica missed) it closes the watch, and the replica reads the
   * whole registry again instead of serving a registry that no longer moves.
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
      int leases = readAll();
      log.warn("etcd watch had ended: registry read again at revision {} ({} lease(s))", appliedRevision(), leases);
    } catch (RuntimeException e) {
      log.warn("etcd watch had ended and the registry cannot be read yet ({}); trying again", e.getMessage());
      resyncs.schedule(this::resyncIfWatchEnded, 1, TimeUnit.SECONDS);
    }
  }

  /** Fault injection for tests: the watch ends as jetcd ends it after a final error, which it then reports. */
  void endWatchForTest() {
    watcher.close();
  }

  void reportWatchErrorForTest() {
    onWatchError(new IllegalStateException("watch ended by the test"));
  }

  private synchronized void awaitApplied(long revision) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (appliedRevision < revision) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new StoreUnavailableException("etcd committed revision " + revision + " but this replica's watch "
            + "has only reached " + appliedRevision + " after " + timeout, null);
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreUnavailableException("interrupted while waiting for etcd", e);
      }
    }
  }

  private <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new StoreUnavailableException("etcd did not answer within " + timeout + " to " + what, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new StoreUnavailableException("etcd failed to " + what + ": " + cause.getMessage(), cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreUnavailableException("interrupted while waiting for etcd to " + what, e);
    }
  }

  /** The lease as stored, ordered by etcd: the mod revision is its registration order on every replica. */
  private StoredLease decode(KeyValue kv) {
    StoredLease value = StoredLeaseCodec.decode(kv.getValue().getBytes());
    // A registration is written with sequence 0 and ordered by its commit; a rewrite (drain) keeps that order.
    long sequence = value.sequence() > 0 ? value.sequence() : kv.getModRevision();
    return new StoredLease(value.registration(), value.leaseId(), sequence, value.ttl(),
        value.registeredAt(), value.expiresAt(), value.drained());
  }

  private long appliedModRevision(StoredLease lease) {
    synchronized (modRevisions) {
      return modRevisions.getOrDefault(lease.leaseId(), lease.sequence());
    }
  }

  static String leaseId(long etcdLeaseId) {
    return "lease-" + HexFormat.of().toHexDigits(etcdLeaseId);
  }

  private static long etcdLeaseId(String leaseId) {
    try {
      return HexFormat.fromHexDigitsToLong(leaseId.substring("lease-".length()));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private static ByteSequence bytes(String text) {
    return ByteSequence.from(text, StandardCharsets.UTF_8);
  }

  private static String string(ByteSequence bytes) {
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
