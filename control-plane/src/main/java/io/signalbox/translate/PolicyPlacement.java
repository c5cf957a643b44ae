package io.signalbox.translate;

import io.signalbox.model.Instance;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;

/**
 * Where a route's policies (JWT authentication, claim rules, local and global rate limits) are
 * enforced: at the edge, or at the sidecars of the service's instances (sidecar mode); not both in
 * a steady state, since the edge strips the token it verified and would count every request a
 * second time.
 *
 * <p>The sidecars enforce them when every instance of the service has a sidecar (so no request
 * reaches the service around them: calls from inside the mesh are checked as the edge's are) and
 * the route's path is the application's own: it forwards, rewrites nothing and names no host, so
 * the inbound listener matches the same requests whether they come from the edge or from the mesh.
 * A route that rewrites or names hosts keeps its policies at the edge, and so does every route of a
 * service with an instance outside the mesh.
 *
 * <p>While a change moves a route's policies from one place to the other, both enforce them ({@link
 * PolicyHandover}).
 */
final class PolicyPlacement {

  /** Which Envoys enforce a route's policies. */
  enum Enforcement {
    /** The edge alone, which strips the token it verified (unless the provider forwards it). */
    EDGE,
    /** The sidecars alone; the edge only forwards. */
    SIDECARS,
    /**
     * Both, while a change hands the policies over ({@link PolicyHandover}): the edge forwards the
     * token it verified, so the sidecar can verify it again.
     */
    EDGE_AND_SIDECARS;

    /** Whether the edge enforces. */
    boolean atEdge() {
      return this != SIDECARS;
    }

    /** Whether the sidecars enforce. */
    boolean atSidecars() {
      return this != EDGE;
    }
  }

  private PolicyPlacement() {}

  /**
   * Where {@code route}'s policies are enforced, given whether every instance of its service has a
   * sidecar and whether the service hands its policies over in the change being published.
   */
  static Enforcement enforcement(
      boolean everyInstanceHasASidecar, boolean handingOver, RouteSpec route) {
    if (!applicationPath(route)) {
      return Enforcement.EDGE;
    }
    if (handingOver) {
      return Enforcement.EDGE_AND_SIDECARS;
    }
    return everyInstanceHasASidecar ? Enforcement.SIDECARS : Enforcement.EDGE;
  }

  /** Whether the sidecars beside {@code service}'s instances enforce {@code route}'s policies. */
  static boolean atSidecars(ServiceState service, RouteSpec route) {
    return everyInstanceHasASidecar(service) && applicationPath(route);
  }

  static boolean everyInstanceHasASidecar(ServiceState service) {
    return !service.instances().isEmpty()
        && service.instances().stream().allMatch(Instance::hasSidecar);
  }

  /**
   * A route whose path is the application's own: it forwards, rewrites nothing (a rewritten route's
   * path is the edge's) and names no host (edge host names are not how the mesh calls).
   */
  static boolean applicationPath(RouteSpec route) {
    return route.action() instanceof RouteAction.Forward forward
        && route.prefixRewrite().isEmpty()
        && forward.regexRewrite().isEmpty()
        && route.hosts().isEmpty();
  }
}
