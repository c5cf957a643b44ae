package io.signalbox.store;

import io.signalbox.model.ServiceState;
import java.time.Clock;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The services the registry withholds from the served state because Envoy rejected them, and the
 * revision at which a registration last changed each service, by which a quarantine asked for on an
 * older state is refused. A quarantine ends when the service registers with a different state, when
 * its last instance is gone, or when an operator releases it.
 *
 * <p>A class of its own so that the engine's quarantine rules read in one place; the engine still
 * decides when a change counts as a new revision. It is the engine's state: call it with the
 * engine's lock held.
 */
final class QuarantinedServices {

  private static final Logger log = LoggerFactory.getLogger(QuarantinedServices.class);

  /** When each quarantine began, as shown to operators. */
  private final Clock wallClock;

  private final TreeMap<String, Quarantine> quarantines = new TreeMap<>();

  /** The revision at which a registration last changed each service. */
  private final Map<String, Long> registeredRevisions = new HashMap<>();

  QuarantinedServices(Clock wallClock) {
    this.wallClock = Objects.requireNonNull(wallClock);
  }

  /**
   * Quarantines {@code service} unless it is gone or a registration has changed it since {@code
   * rejectedRevision} (see {@link Quarantines#quarantine}); whether it did.
   *
   * @param current the service's state as the registry holds it, null when it holds none
   */
  boolean quarantine(
      String service,
      ServiceState current,
      ServiceState rejected,
      long rejectedRevision,
      String reason) {
    if (current == null
        || registeredRevisions.getOrDefault(service, 0L) > rejectedRevision
            && !current.equals(rejected)) {
      return false;
    }
    quarantines.put(service, new Quarantine(service, rejected, reason, wallClock.instant()));
    return true;
  }

  /** Ends the service's quarantine; the quarantine it ended, or null when there was none. */
  Quarantine release(String service) {
    return quarantines.remove(service);
  }

  /**
   * A registration changed {@code service} at {@code revision}; one that changes what Envoy
   * rejected gives the service another chance.
   *
   * @param current the service's state after it
   */
  void registered(String service, long revision, ServiceState current) {
    registeredRevisions.put(service, revision);
    Quarantine quarantine = quarantines.get(service);
    if (quarantine != null && !quarantine.rejected().equals(current)) {
      quarantines.remove(service);
      log.info(
          "Service {} registered with a changed state: released from quarantine, Envoy gets another try",
          service);
    }
  }

  /** The service has no instance left: its quarantine, if any, ends with it. */
  void gone(String service) {
    registeredRevisions.remove(service);
    if (quarantines.remove(service) != null) {
      log.info("Service {} has no instance left: its quarantine ends with it", service);
    }
  }

  boolean isEmpty() {
    return quarantines.isEmpty();
  }

  /** The quarantined services' names, as a view. */
  Set<String> names() {
    return Collections.unmodifiableSet(quarantines.keySet());
  }

  /** A copy of every quarantine, by service. */
  SortedMap<String, Quarantine> copy() {
    return Collections.unmodifiableSortedMap(new TreeMap<>(quarantines));
  }
}
