package io.signalbox.store;

import static io.signalbox.store.EtcdRegistryStore.COLD_START;
import static io.signalbox.store.EtcdRegistryStore.GUARD;
import static io.signalbox.store.EtcdRegistryStore.LEASES;
import static io.signalbox.store.EtcdRegistryStore.RENEWALS;
import static io.signalbox.store.EtcdRegistryStore.REPLICAS;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's copy of etcd's registry keys as it has applied them: every lease key and renewal
 * key with its mod revision (what guarded rewrites and deletes compare against), the last cold
 * start, the replicas present, the guard key's revision and the revision applied. It tells when a
 * lease expires and waits for a revision to be applied; what the keys mean for the registry is the
 * engine's ({@link EtcdRegistryFeed} hands both the same changes). Every method holds this object's
 * monitor.
 */
final class EtcdAppliedKeys implements EtcdRegistrationWriter.Applied {

  private static final Logger log = LoggerFactory.getLogger(EtcdAppliedKeys.class);

  /** A lease key as applied: its mod revision (for guarded rewrites and deletes) and its value. */
  record WrittenLease(long modRevision, StoredLease value) {

    Instant expiresAt() {
      return value.expiresAt();
    }

    Duration ttl() {
      return value.ttl();
    }
  }

  /** A lease whose expiry has passed, with the revisions its removal is guarded by. */
  record ExpiredLease(String leaseId, long leaseRevision, long renewalRevision) {}

  /** A renewal key whose lease is gone and whose expiry has passed. */
  record StrayRenewal(String leaseId, long modRevision) {}

  /** What one replica removes in one pass of its reaper. */
  record ExpirySweep(List<ExpiredLease> leases, List<StrayRenewal> renewals) {}

  /**
   * What the registry's keys said at one revision (a whole read) or changed by (a watch response),
   * for the engine: leases written, with their expiries; leases removed; expiries moved by renewals
   * or a cold start; the newest mod revision among the keys, and the guard key's (0 when it was
   * deleted), when it is among them.
   */
  record Changes(
      List<StoredLease> puts,
      List<String> removals,
      Map<String, Instant> expiries,
      long newestRevision,
      Optional<Long> guard) {}

  private record WrittenRenewal(long modRevision, Instant expiresAt) {}

  private final Optional<Duration> leaseGrace;
  private final Duration awaitTimeout;

  private long appliedRevision;
  private long guardRevision;
  private final Map<String, WrittenLease> leases = new HashMap<>();
  private final Map<String, WrittenRenewal> renewed = new HashMap<>();
  private Instant coldStart;

  /** Every applied lease by when it ends ({@link #expiryOf}), kept as its three inputs change. */
  private final LeaseEndings endings = new LeaseEndings();

  /** The replicas whose presence mark is in etcd, this one included while its mark holds. */
  private final TreeSet<String> present = new TreeSet<>();

  /**
   * @param leaseGrace how long every lease lives at least after a cold start; empty means its TTL
   * @param awaitTimeout how long {@link #await(long)} waits for a revision to be applied
   */
  EtcdAppliedKeys(Optional<Duration> leaseGrace, Duration awaitTimeout) {
    this.leaseGrace = leaseGrace;
    this.awaitTimeout = awaitTimeout;
  }

  /**
   * Holds exactly the keys of a whole read instead of what it held; {@code kvs} in mod revision
   * order. The revision applied moves only once the engine holds them too ({@link #applied}).
   */
  synchronized Changes replaceAll(List<KeyValue> kvs) {
    leases.clear();
    renewed.clear();
    endings.clear();
    present.clear();
    List<StoredLease> puts = new ArrayList<>();
    long newestRevision = 0;
    Optional<Long> guard = Optional.empty();
    for (KeyValue kv : kvs) {
      newestRevision = Math.max(newestRevision, kv.getModRevision());
      String key = string(kv.getKey());
      if (key.equals(GUARD)) {
        guard = Optional.of(kv.getModRevision());
      } else {
        readKey(key, kv, puts);
      }
    }
    puts.replaceAll(this::withExpiry);
    return new Changes(puts, List.of(), Map.of(), newestRevision, guard);
  }

  /** The changes of one watch response, taken in; applied once the engine holds them too. */
  synchronized Changes take(List<WatchEvent> events) {
    List<StoredLease> puts = new ArrayList<>();
    List<String> removals = new ArrayList<>();
    boolean everyExpiryMoved = false;
    Set<String> renewedNow = new HashSet<>();
    long newestRevision = 0;
    Optional<Long> guard = Optional.empty();
    for (WatchEvent event : events) {
      KeyValue kv = event.getKeyValue();
      newestRevision = Math.max(newestRevision, kv.getModRevision());
      String key = string(kv.getKey());
      if (key.equals(GUARD)) {
        // The last event wins: a deleted guard (an operator cleared the prefix) compares as
        // revision 0.
        guard =
            Optional.of(
                event.getEventType() == WatchEvent.EventType.DELETE ? 0 : kv.getModRevision());
        continue;
      }
      if (event.getEventType() == WatchEvent.EventType.PUT) {
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
              "etcd key {} holds nothing this version can read ({}); ignored", key, e.getMessage());
        }
      } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
        if (key.startsWith(LEASES)) {
          String leaseId = key.substring(LEASES.length());
          leases.remove(leaseId);
          endings.remove(leaseId);
          puts.removeIf(lease -> lease.leaseId().equals(leaseId));
          removals.add(leaseId);
        } else if (key.startsWith(RENEWALS)) {
          String leaseId = key.substring(RENEWALS.length());
          renewed.remove(leaseId);
          endingMoved(leaseId);
        } else if (key.startsWith(REPLICAS)) {
          present.remove(key.substring(REPLICAS.length()));
        }
      }
    }
    puts.replaceAll(this::withExpiry);
    Map<String, Instant> expiries = new HashMap<>();
    for (String leaseId : everyExpiryMoved ? leases.keySet() : renewedNow) {
      if (leases.containsKey(leaseId)) {
        expiries.put(leaseId, expiryOf(leaseId));
      }
    }
    return new Changes(puts, removals, expiries, newestRevision, guard);
  }

  /**
   * The engine holds everything up to {@code revision}; {@code guard}: the guard key's mod revision
   * as of then, if it moved (0 when deleted).
   */
  synchronized void applied(long revision, Optional<Long> guard) {
    appliedRevision = Math.max(appliedRevision, revision);
    guard.ifPresent(moved -> guardRevision = moved);
    notifyAll();
  }

  /** As {@link #applied(long, Optional)} after a whole read: the revision may go back. */
  synchronized void appliedWholeRead(long revision, long guard) {
    appliedRevision = revision;
    guardRevision = guard;
    notifyAll();
  }

  synchronized long appliedRevision() {
    return appliedRevision;
  }

  @Override
  public synchronized long guardRevision() {
    return guardRevision;
  }

  @Override
  public synchronized WrittenLease lease(String leaseId) {
    return leases.get(leaseId);
  }

  /** The lease as applied if it has not expired at {@code now}. */
  synchronized Optional<WrittenLease> liveLease(String leaseId, Instant now) {
    WrittenLease lease = leases.get(leaseId);
    return lease != null && expiryOf(leaseId).isAfter(now) ? Optional.of(lease) : Optional.empty();
  }

  /**
   * What {@code replica} should remove at {@code now}, read under one lock so that no lease is in
   * both lists: leases whose expiry has passed and renewal keys left without their lease. Nothing
   * unless {@code replica} is the first present replica by name (see {@link #firstPresent}).
   */
  synchronized ExpirySweep expirySweep(String replica, Instant now) {
    if (!firstPresent(replica)) {
      return new ExpirySweep(List.of(), List.of());
    }
    List<ExpiredLease> expired = new ArrayList<>();
    for (String leaseId : endings.endedAt(now)) {
      WrittenRenewal renewal = renewed.get(leaseId);
      expired.add(
          new ExpiredLease(
              leaseId,
              leases.get(leaseId).modRevision(),
              renewal == null ? 0 : renewal.modRevision()));
    }
    List<StrayRenewal> stray = new ArrayList<>();
    renewed.forEach(
        (leaseId, renewal) -> {
          if (!leases.containsKey(leaseId) && !renewal.expiresAt().isAfter(now)) {
            stray.add(new StrayRenewal(leaseId, renewal.modRevision()));
          }
        });
    return new ExpirySweep(expired, stray);
  }

  synchronized RegistryStore.LeaseCounts leaseCounts(Instant now) {
    return new RegistryStore.LeaseCounts(leases.size(), endings.endedAt(now).size());
  }

  synchronized List<String> presentReplicas() {
    return List.copyOf(present);
  }

  /** Whether {@code replica} is the first present replica by name. */
  synchronized boolean firstPresent(String replica) {
    return !present.isEmpty() && present.first().equals(replica);
  }

  /** Returns once the engine holds {@code revision}. */
  @Override
  public synchronized void await(long revision) {
    long deadline = System.nanoTime() + awaitTimeout.toNanos();
    while (appliedRevision < revision) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new StoreUnavailableException(
            "etcd committed revision "
                + revision
                + " but this replica's watch has only reached "
                + appliedRevision
                + " after "
                + awaitTimeout,
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
   * Takes in one put key of the registry (lease, renewal or cold start); a lease it holds goes to
   * {@code puts}. Returns whether it moved an expiry.
   */
  private boolean readKey(String key, KeyValue kv, List<StoredLease> puts) {
    if (key.startsWith(LEASES)) {
      StoredLease lease = decode(kv);
      leases.put(lease.leaseId(), new WrittenLease(kv.getModRevision(), lease));
      endingMoved(lease.leaseId());
      puts.add(lease);
      return false;
    }
    if (key.startsWith(RENEWALS)) {
      String leaseId = key.substring(RENEWALS.length());
      renewed.put(
          leaseId,
          new WrittenRenewal(
              kv.getModRevision(), Instant.ofEpochMilli(Long.parseLong(string(kv.getValue())))));
      endingMoved(leaseId);
      return true;
    }
    if (key.equals(COLD_START)) {
      coldStart = Instant.ofEpochMilli(Long.parseLong(string(kv.getValue())));
      // Rare (a start with no replica present): every lease's grace moves.
      leases.keySet().forEach(this::endingMoved);
      return true;
    }
    if (key.startsWith(REPLICAS)) {
      present.add(key.substring(REPLICAS.length()));
    }
    return false;
  }

  /** Orders the lease anew by {@link #expiryOf}, or forgets it when it is not applied. */
  private void endingMoved(String leaseId) {
    if (leases.containsKey(leaseId)) {
      endings.set(leaseId, expiryOf(leaseId));
    } else {
      endings.remove(leaseId);
    }
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
   * The lease as stored, ordered by etcd: the mod revision is its registration order on every
   * replica.
   */
  static StoredLease decode(KeyValue kv) {
    StoredLease value = StoredLeaseCodec.decode(kv.getValue().getBytes());
    // A registration is written with sequence 0 and ordered by its commit; a rewrite (drain) keeps
    // that order.
    long sequence = value.sequence() > 0 ? value.sequence() : kv.getModRevision();
    return value.withSequence(sequence);
  }

  static String string(ByteSequence bytes) {
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
