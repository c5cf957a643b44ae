package io.signalbox.store;

import io.signalbox.model.Instance;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceChangeLog;
import io.signalbox.model.ServiceState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;

/**
 * The registry's services as derived from the engine's live leases, with what goes with each
 * revision of them: the revision number, which service each recent revision changed, what last
 * changed each service and who (for the history), and the states made of them for readers, whole
 * and as served (without the quarantined services).
 *
 * <p>A class of its own because deriving a service from its leases (newest registration's routes,
 * first owner keeps a route, drained instances out) is one job, whatever change asks for it, and
 * the engine's job is deciding the changes. It is the engine's state: call it with the engine's
 * lock held.
 */
final class DerivedServices {

  /**
   * How many causes of removed services are kept for the history before they are forgotten at once.
   */
  private static final int MAX_REMOVED_CAUSES = 1_000;

  private final LeaseTable leases;

  /** The routes each service holds; derived from {@link #services}, kept for the capture check. */
  private final RouteClaims routeClaims;

  /** Services withheld from the served state; a quarantine ends with the service. */
  private final QuarantinedServices quarantines;

  /** Persistent: each revision's state shares it, so a change copies nothing. */
  private PSortedMap<String, ServiceState> services = TreePMap.empty();

  /**
   * What last changed each service and who, for the history; see {@link RegistryState#changedBy()}.
   */
  private PSortedMap<String, String> changedBy = TreePMap.empty();

  /**
   * The cause of the change being made under the lock, recorded by {@link #recompute} for what it
   * changes.
   */
  private String cause = "";

  /**
   * Which service each recent revision changed, so that consumers compare two states by the changes
   * between them; read as the whole registry's or, while services are quarantined, as the served
   * view's (another view object: the two hold different services at one revision).
   */
  private ServiceChangeLog changeLog = ServiceChangeLog.of(new Object());

  private final Object servedView = new Object();

  private long revision;
  private RegistryState cachedState = RegistryState.EMPTY;
  private RegistryState cachedServedState = RegistryState.EMPTY;

  /**
   * @param leases read, never changed, to derive a service
   * @param routeClaims kept in step with the services' routes
   * @param quarantines told when a service is gone, and left out of the served state
   */
  DerivedServices(LeaseTable leases, RouteClaims routeClaims, QuarantinedServices quarantines) {
    this.leases = Objects.requireNonNull(leases);
    this.routeClaims = Objects.requireNonNull(routeClaims);
    this.quarantines = Objects.requireNonNull(quarantines);
  }

  /**
   * What the following recomputations record as the cause of what they change, until another cause
   * is set.
   */
  void setCause(String cause) {
    this.cause = cause;
  }

  /** The service's state, or null when it has no live instance. */
  ServiceState get(String service) {
    return services.get(service);
  }

  long revision() {
    return revision;
  }

  RegistryState state() {
    if (cachedState.revision() != revision) {
      cachedState = new RegistryState(revision, services, changedBy, changeLog);
    }
    return cachedState;
  }

  RegistryState servedState() {
    if (quarantines.isEmpty()) {
      return state();
    }
    if (cachedServedState.revision() != revision) {
      cachedServedState =
          new RegistryState(
              revision,
              services.minusAll(quarantines.names()),
              changedBy,
              changeLog.inView(servedView));
    }
    return cachedServedState;
  }

  /**
   * Rebuilds one service from its live registrations: the newest registration's routes, minus any
   * route that another service has come to own meanwhile (first owner keeps a route), and every
   * live instance that is not drained. A service whose instances are all drained keeps its routes
   * (and their ownership): Envoy answers 503. Whether the service changed; a change is a new
   * revision.
   */
  boolean recompute(String service) {
    List<LiveLease> live = List.copyOf(leases.ofService(service));
    ServiceState before = services.get(service);
    routeClaims.release(service);
    ServiceState after = null;
    if (!live.isEmpty()) {
      LiveLease newest =
          live.stream().max(Comparator.comparingLong(lease -> lease.sequence)).orElseThrow();
      List<RouteSpec> routes = new ArrayList<>();
      for (RouteSpec route : newest.registration.routes()) {
        if (routeClaims.conflict(newest.registration, route).isEmpty()) {
          routes.add(route);
        }
      }
      routeClaims.claim(service, routes);
      List<Instance> instances =
          live.stream()
              .filter(lease -> !lease.drained)
              .map(lease -> lease.registration.instance())
              .sorted(Comparator.comparing(Instance::id))
              .toList();
      SortedSet<String> notServing = new TreeSet<>();
      live.stream()
          .filter(lease -> !lease.drained && lease.notServing)
          .forEach(lease -> notServing.add(lease.instanceId()));
      after =
          new ServiceState(
              service,
              routes,
              instances,
              newest.registration.protocol(),
              newest.registration.traffic(),
              notServing,
              newest.registration.mesh());
    }
    if (Objects.equals(before, after)) {
      return false;
    }
    leases.serviceChanged(before, after);
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
      quarantines.gone(service);
    } else {
      services = services.plus(service, after);
    }
    changed(service);
    return true;
  }

  /** A new revision, which changed {@code service} (its state, or whether it is served). */
  void changed(String service) {
    revision++;
    changeLog = changeLog.append(revision, service);
  }

  /**
   * The services and what goes with them as they are now, to be {@linkplain #rollBack rolled back}
   * to.
   */
  Checkpoint checkpoint() {
    return new Checkpoint(services, changedBy, changeLog, revision);
  }

  /**
   * Back to a checkpoint, to the object: for changes taken back whose services were recomputed
   * again as they were (the route claims and the lease table's counts follow the recomputation).
   */
  void rollBack(Checkpoint checkpoint) {
    services = checkpoint.services();
    changedBy = checkpoint.changedBy();
    changeLog = checkpoint.changeLog();
    revision = checkpoint.revision();
  }

  /** The persistent parts of the derived services at one moment; see {@link #checkpoint()}. */
  record Checkpoint(
      PSortedMap<String, ServiceState> services,
      PSortedMap<String, String> changedBy,
      ServiceChangeLog changeLog,
      long revision) {}
}
