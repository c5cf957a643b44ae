package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.time.Duration;
import java.util.Comparator;
import java.util.Optional;

/**
 * How a sidecar's outbound listener reaches one callee: a virtual host named by the callee's bare
 * name (with any port), whose routes carry the callee's own resilience, so a call through the mesh
 * is retried and timed out as the callee asked, and balanced as its traffic policy says (hash key,
 * version split).
 *
 * <p>A callee's route applies in the mesh when its path is the application's own: it forwards,
 * rewrites nothing (a rewritten route's path is the edge's, not the application's) and names no
 * host (edge host names are not how the mesh calls). Only such routes that change something for a
 * caller are placed (a timeout, retries, an idle timeout, WebSocket), most specific first as on the
 * edge; every other path reaches the callee through the last, catch-all route. Headers, CORS,
 * faults, compression, mirrors and policies of the edge stay at the edge.
 */
final class OutboundRoutes {

  private OutboundRoutes() {}

  /**
   * What of the settings every callee's virtual host depends on.
   *
   * @param domain the mesh's DNS domain, under which a callee is also named
   * @param longestDeadline the operator's longest route timeout, which bounds a gRPC caller's
   *     deadline ({@link RouteTimeouts})
   */
  record Options(Optional<String> domain, Duration longestDeadline) {

    static Options of(io.signalbox.config.GatewaySettings settings) {
      return new Options(settings.sidecars().domain(), settings.limits().maxRouteTimeout());
    }
  }

  /**
   * The virtual host of {@code callee}: its name, and under the mesh's domain when there is one,
   * each with any port.
   */
  static VirtualHost virtualHost(ServiceState callee, Options options) {
    Duration longestDeadline = options.longestDeadline();
    VirtualHost.Builder virtualHost =
        VirtualHost.newBuilder()
            .setName(callee.name())
            .addDomains(callee.name())
            .addDomains(callee.name() + ":*");
    options
        .domain()
        .ifPresent(
            domain ->
                virtualHost
                    .addDomains(callee.name() + "." + domain)
                    .addDomains(callee.name() + "." + domain + ":*"));
    callee.routes().stream()
        .filter(OutboundRoutes::appliesInTheMesh)
        .sorted(Comparator.comparing(RouteSpec::match))
        .forEach(spec -> virtualHost.addRoutes(route(callee, spec, longestDeadline)));
    virtualHost.addRoutes(
        Route.newBuilder()
            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRoute(toCallee(callee, Optional.empty(), longestDeadline)));
    return virtualHost.build();
  }

  private static boolean appliesInTheMesh(RouteSpec spec) {
    if (!PolicyPlacement.applicationPath(spec)) {
      return false;
    }
    io.signalbox.model.RouteAction.Forward forward =
        (io.signalbox.model.RouteAction.Forward) spec.action();
    return spec.timeout().isPresent()
        || spec.retry().isPresent()
        || forward.idleTimeout().isPresent()
        || forward.websocket();
  }

  private static Route route(ServiceState callee, RouteSpec spec, Duration longestDeadline) {
    io.signalbox.model.RouteAction.Forward forward =
        (io.signalbox.model.RouteAction.Forward) spec.action();
    RouteAction.Builder action = toCallee(callee, spec.timeout(), longestDeadline);
    spec.retry()
        .ifPresent(retry -> action.setRetryPolicy(RetryPolicyTranslator.retryPolicy(retry)));
    forward.idleTimeout().ifPresent(idle -> action.setIdleTimeout(EnvoyProtos.duration(idle)));
    if (forward.websocket()) {
      action.addUpgradeConfigs(RouteAction.UpgradeConfig.newBuilder().setUpgradeType("websocket"));
    }
    return Route.newBuilder()
        .setName(XdsNames.route(callee.name(), spec.match().toString()))
        .setMatch(RouteTranslator.match(spec.match()))
        .setRoute(action)
        .build();
  }

  /**
   * The callee's cluster, over its versions when it splits them, with its hash key, bounded by
   * {@code timeout} or, for a gRPC callee, its caller's deadline ({@link RouteTimeouts}).
   */
  private static RouteAction.Builder toCallee(
      ServiceState callee, Optional<Duration> timeout, Duration longestDeadline) {
    Destination destination = Destination.of(callee);
    RouteAction.Builder action = TrafficPolicyTranslator.routeAction(destination);
    RouteTimeouts.apply(action, timeout, destination, longestDeadline);
    return action;
  }
}
