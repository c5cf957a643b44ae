package io.signalbox.translate;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.signalbox.config.GatewaySettings;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How a sidecar's inbound listener hands requests to the application beside it: the routes whose
 * policies the sidecars enforce ({@link PolicyPlacement}) with those policies — JWT authentication,
 * claim rules, local and global rate limits, and nothing else, since the caller already applied the
 * route's retries, rewrites, header changes, faults, mirrors and compression — then a catch-all for
 * every other path. The inbound hop adds no timeout of its own (the caller's governs) and lets
 * WebSocket upgrades through.
 */
final class InboundRoutes {

  /** The policy filters an inbound listener enforces, in chain order. */
  private static final List<HttpFilterTranslator> POLICY_FILTERS = HttpFilterChain.POLICIES;

  private InboundRoutes() {}

  /**
   * Whether the sidecars of {@code service} may enforce some route's policies, now or in a
   * handover: some route's path is the application's own.
   */
  static boolean mayEnforcePolicies(ServiceState service) {
    return service.routes().stream().anyMatch(PolicyPlacement::applicationPath);
  }

  /** Whether the sidecars of {@code service} enforce a route's policies. */
  private static java.util.function.Predicate<RouteSpec> enforcedHere(
      ServiceState service, boolean handingOver) {
    boolean sidecared = PolicyPlacement.everyInstanceHasASidecar(service);
    return route -> PolicyPlacement.enforcement(sidecared, handingOver, route).atSidecars();
  }

  /** The policy filters, before the router; disabled on every route that does not enable them. */
  static List<HttpFilter> httpFilters(GatewaySettings settings) {
    List<HttpFilter> filters = new ArrayList<>();
    POLICY_FILTERS.forEach(filter -> filters.addAll(filter.httpFilters(settings)));
    return filters;
  }

  /**
   * The inbound routes of {@code service}'s sidecars; {@code handingOver}: whether the service is
   * in the current policy handover, all they read of it (the sidecar translator keeps them by it).
   */
  static VirtualHost virtualHost(
      ServiceState service,
      GatewaySettings settings,
      String applicationCluster,
      boolean handingOver) {
    VirtualHost.Builder virtualHost =
        VirtualHost.newBuilder().setName("application").addDomains("*");
    List<String> claimHeaders = PolicyRoute.claimHeaders(service, settings.defaults());
    service.routes().stream()
        .filter(enforcedHere(service, handingOver))
        .sorted(Comparator.comparing(RouteSpec::match))
        .forEach(
            spec ->
                virtualHost.addRoutes(
                    route(
                        PolicyRoute.resolve(service.name(), spec, settings, claimHeaders),
                        settings,
                        applicationCluster)));
    // Headers the application trusts to hold a verified token's claims are never what a caller
    // sent, on any path.
    virtualHost.addRoutes(
        Route.newBuilder()
            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRoute(toApplication(applicationCluster))
            .addAllRequestHeadersToRemove(claimHeaders));
    return virtualHost.build();
  }

  private static Route route(
      PolicyRoute policyRoute, GatewaySettings settings, String applicationCluster) {
    Route.Builder route =
        Route.newBuilder()
            .setName(policyRoute.name())
            .setMatch(RouteTranslator.match(policyRoute.spec().match()));
    if (policyRoute.failsClosed()) {
      RouteActionTranslator.answer(policyRoute.action(), route);
      return route.build();
    }
    route.setRoute(toApplication(applicationCluster));
    for (HttpFilterTranslator filter : POLICY_FILTERS) {
      filter.patchRoute(policyRoute, route, settings);
    }
    return route.build();
  }

  private static RouteAction.Builder toApplication(String applicationCluster) {
    return RouteAction.newBuilder()
        .setCluster(applicationCluster)
        .setTimeout(Duration.getDefaultInstance())
        .addUpgradeConfigs(RouteAction.UpgradeConfig.newBuilder().setUpgradeType("websocket"));
  }
}
