package io.signalbox.translate;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import java.util.List;

/**
 * One HTTP filter feature (JWT authentication, claim authorization, rate limiting, ...): adding a
 * feature is adding an implementation and listing it in {@link GatewayTranslator}.
 *
 * <p>Filters and clusters depend on the gateway settings only, never on registrations: a
 * registration then never changes a listener, and Envoy never drains connections because a service
 * came or went. Registrations reach a filter through per-route configuration.
 */
interface HttpFilterTranslator {

  /**
   * The filters this feature adds to every HTTP connection manager, in chain order; empty when none
   * is needed.
   */
  List<HttpFilter> httpFilters(GatewaySettings settings);

  /**
   * Adds this feature's per-route configuration to {@code route}. What the route does is decided
   * before ({@link PolicyRoute#action()}): a feature never changes it, and a route that fails
   * closed is not patched at all.
   */
  void patchRoute(PolicyRoute route, Route.Builder envoyRoute, GatewaySettings settings);

  /** Clusters this feature needs, such as one to fetch a remote JWKS. */
  default List<Cluster> clusters(GatewaySettings settings) {
    return List.of();
  }
}
