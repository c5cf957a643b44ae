package io.signalbox.store;

import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.ServiceState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The one lease table of the registry engine: every live lease by id and by (service, instance),
 * with what they hold against the quotas. A lease is <em>indexed</em> (by id, counted in the
 * quotas) and <em>placed</em> (the instance's slot in its service) in separate steps, because a
 * re-registration keeps the lease id while its registration changes. Used under the engine's lock.
 *
 * <p>The indexed leases are also kept in the order they end, so that the reaper's tick, which runs
 * under the engine's lock, looks at the leases that have ended and not at the whole registry.
 */
final class LeaseTable {

  /** Soonest end first; lease ids are unique among the indexed leases, so no two compare equal. */
  private static final Comparator<LiveLease> BY_END =
      Comparator.<LiveLease>comparingLong(lease -> lease.expiresAtNanos)
          .thenComparing(lease -> lease.leaseId);

  private final Map<String, LiveLease> byLease = new HashMap<>();

  /**
   * The indexed leases, soonest end first. A lease's end moves only through {@link #extend}, which
   * takes it out and puts it back, since the order is kept on a mutable field.
   */
  private final NavigableSet<LiveLease> byEnd = new TreeSet<>(BY_END);

  /** Live leases by service, then by instance id. */
  private final Map<String, Map<String, LiveLease>> byService = new HashMap<>();

  /** What the registry holds against its quotas. */
  private final QuotaLedger ledger = new QuotaLedger();

  LiveLease byLease(String leaseId) {
    return byLease.get(leaseId);
  }

  /** The instance's live lease, or null. */
  LiveLease of(String service, String instanceId) {
    Map<String, LiveLease> instances = byService.get(service);
    return instances == null ? null : instances.get(instanceId);
  }

  /** The service's live leases (drained ones included), in no order. */
  Collection<LiveLease> ofService(String service) {
    return byService.getOrDefault(service, Map.of()).values();
  }

  /**
   * @throws NotRegisteredException naming the service when it has no live instance
   */
  Map<String, LiveLease> live(String service) {
    Map<String, LiveLease> instances = byService.get(service);
    if (instances == null) {
      throw NotRegisteredException.service(service);
    }
    return instances;
  }

  /**
   * @throws NotRegisteredException naming the service or the instance that is not registered
   */
  LiveLease live(String service, String instanceId) {
    LiveLease lease = live(service).get(instanceId);
    if (lease == null) {
      throw NotRegisteredException.instance(service, instanceId);
    }
    return lease;
  }

  /** Indexes the lease by id and counts it in the quotas. */
  void index(LiveLease lease) {
    LiveLease replaced = byLease.put(lease.leaseId, lease);
    if (replaced != null) {
      byEnd.remove(replaced);
    }
    byEnd.add(lease);
    ledger.instanceAdded(lease);
  }

  /** Moves an indexed lease's end (a renewal, or a replica's clock). */
  void extend(LiveLease lease, long expiresAtNanos) {
    boolean indexed = byEnd.remove(lease);
    lease.expiresAtNanos = expiresAtNanos;
    if (indexed) {
      byEnd.add(lease);
    }
  }

  /**
   * Forgets whatever lease is indexed under this one's id, and its quota counts; returns it (null
   * stays null).
   */
  LiveLease unindex(LiveLease lease) {
    LiveLease indexed = lease == null ? null : byLease.remove(lease.leaseId);
    if (indexed != null) {
      // What was indexed under the id, which is what the order and the quotas hold.
      byEnd.remove(indexed);
      ledger.instanceRemoved(indexed);
    }
    return lease;
  }

  /** Forgets the lease: whatever is indexed under its id, and its instance's slot. */
  void remove(LiveLease lease) {
    unindex(byLease(lease.leaseId));
    unplace(lease.service(), lease.instanceId());
  }

  /** Puts the lease in its instance's slot, replacing whatever was there. */
  void place(LiveLease lease) {
    byService.computeIfAbsent(lease.service(), s -> new HashMap<>()).put(lease.instanceId(), lease);
  }

  /** Empties the instance's slot, whatever holds it. */
  void unplace(String service, String instanceId) {
    Map<String, LiveLease> instances = byService.get(service);
    if (instances != null) {
      instances.remove(instanceId);
      if (instances.isEmpty()) {
        byService.remove(service);
      }
    }
  }

  /** Empties the instance's slot only if this very lease holds it. */
  void unplaceIfHeld(LiveLease lease) {
    if (of(lease.service(), lease.instanceId()) == lease) {
      unplace(lease.service(), lease.instanceId());
    }
  }

  /**
   * @throws QuotaExceededException when the registration, replacing {@code previous} (or null),
   *     would take more of the registry than a quota allows
   */
  void checkQuotas(
      RegistryQuotas quotas,
      Registration registration,
      long registrationBytes,
      LiveLease previous,
      ServiceState current) {
    Map<String, LiveLease> instances = byService.get(registration.service());
    ledger.check(
        quotas,
        registration,
        registrationBytes,
        previous,
        current,
        byService.size(),
        instances == null ? 0 : instances.size());
  }

  /** Counts a service's served routes (hosts, placements) anew. */
  void serviceChanged(ServiceState before, ServiceState after) {
    ledger.serviceChanged(before, after);
  }

  int serviceCount() {
    return byService.size();
  }

  int leaseCount() {
    return byLease.size();
  }

  Set<String> leaseIds() {
    return Set.copyOf(byLease.keySet());
  }

  Collection<LiveLease> all() {
    return byLease.values();
  }

  /** The leases past their end that {@code which} selects. */
  List<LiveLease> expired(long nowNanos, Predicate<LiveLease> which) {
    return ended(nowNanos).stream().filter(which).toList();
  }

  /** Walks the leases that have ended only: the others are counted, not visited. */
  RegistryStore.LeaseCounts counts(long nowNanos) {
    List<LiveLease> ended = ended(nowNanos);
    int neverRenewed = 0;
    Set<String> renewedIdentities = new HashSet<>();
    for (LiveLease lease : ended) {
      if (lease.renewed) {
        renewedIdentities.add(lease.registration.registrant());
      } else {
        neverRenewed++;
      }
    }
    return new RegistryStore.LeaseCounts(
        byLease.size(), ended.size(), neverRenewed, ledger.identities(), renewedIdentities.size());
  }

  /** The leases past their end, soonest ended first. */
  private List<LiveLease> ended(long nowNanos) {
    List<LiveLease> ended = new ArrayList<>();
    for (LiveLease lease : byEnd) {
      if (!lease.expiredAt(nowNanos)) {
        break;
      }
      ended.add(lease);
    }
    return ended;
  }

  /** Every live instance as the admin API shows it, by service then instance id. */
  List<RegisteredInstance> views(long nowNanos) {
    List<RegisteredInstance> views = new ArrayList<>();
    new TreeMap<>(byService)
        .forEach(
            (service, leases) ->
                new TreeMap<>(leases).values().forEach(lease -> views.add(lease.view(nowNanos))));
    return views;
  }

  /** The lease ids of a service's live instances, or of one of them, by instance id. */
  SortedMap<String, String> leaseIdsOf(String service, java.util.Optional<String> instanceId) {
    SortedMap<String, String> ids = new TreeMap<>();
    if (instanceId.isPresent()) {
      ids.put(instanceId.get(), live(service, instanceId.get()).leaseId);
    } else {
      live(service).forEach((id, lease) -> ids.put(id, lease.leaseId));
    }
    return ids;
  }
}
