package io.signalbox.translate;

import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteMatch;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * The services whose routes' policies move between the edge and their sidecars in a change, and are
 * meanwhile enforced at both ({@link PolicyPlacement.Enforcement#EDGE_AND_SIDECARS}).
 *
 * <p>The edge and a service's sidecars are different Envoys and apply a change each at its own
 * time. Were policies handed from one to the other in one step, a request could pass the Envoy that
 * has let go before the other has taken hold: unauthenticated and uncounted. So the publisher first
 * makes both enforce (the edge then forwards the verified token, which the sidecar checks again),
 * waits until every Envoy applied that, and only then lets go at the place that no longer enforces.
 * This holds for a route added to or removed from a sidecar-enforced service as well: for a moment
 * the edge would route it while the sidecar does not yet (or no longer) guard it.
 *
 * @param services the services handing over, by name
 */
public record PolicyHandover(Set<String> services) {

  /** No service hands over: every route's policies are enforced where they belong. */
  public static final PolicyHandover NONE = new PolicyHandover(Set.of());

  public PolicyHandover {
    services = Set.copyOf(new TreeSet<>(services));
  }

  /**
   * The services whose sidecars enforce the policies of a different set of routes in {@code after}
   * than in {@code before} (a route's policies changing in place need no handover: either version
   * is enforced). Only the services whose state differs are looked at ({@link
   * RegistryState#servicesDifferingFrom}).
   */
  public static PolicyHandover between(RegistryState before, RegistryState after) {
    Set<String> handingOver = new HashSet<>();
    for (String name : after.servicesDifferingFrom(before)) {
      if (handsOver(before.services().get(name), after.services().get(name))) {
        handingOver.add(name);
      }
    }
    return handingOver.isEmpty() ? NONE : new PolicyHandover(handingOver);
  }

  /** Whether a service's sidecars enforce the policies of other routes now than then. */
  private static boolean handsOver(ServiceState then, ServiceState now) {
    return then != now && !enforcedAtSidecars(then).equals(enforcedAtSidecars(now));
  }

  public boolean isEmpty() {
    return services.isEmpty();
  }

  boolean includes(String service) {
    return services.contains(service);
  }

  /** The matches of the routes whose policies the service's sidecars enforce. */
  private static Set<RouteMatch> enforcedAtSidecars(ServiceState service) {
    if (service == null || !PolicyPlacement.everyInstanceHasASidecar(service)) {
      return Set.of();
    }
    Set<RouteMatch> matches = new HashSet<>();
    for (RouteSpec route : service.routes()) {
      if (PolicyPlacement.applicationPath(route)) {
        matches.add(route.match());
      }
    }
    return matches;
  }
}
