package io.signalbox.translate;

import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.signalbox.model.HeaderMatch;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * All services' routes as one RouteConfiguration with a virtual host per registered host.
 *
 * <p>A route registered without hosts serves every host, so it is also placed in each host's virtual host (Envoy
 * consults only the one virtual host that matches the authority). Within a virtual host routes are ordered by
 * specificity, because Envoy takes the first match: exact before regex before prefix, longer prefix first, and at an
 * equal match the host-specific route before the any-host one.
 */
final class RouteTranslator {

  private static final String ANY_HOST = "*";

  private record PlacedRoute(String service, RouteSpec spec, boolean hostSpecific) {
  }

  private static final Comparator<PlacedRoute> FIRST_MATCH_ORDER = Comparator
      .comparing((PlacedRoute r) -> r.spec().match())
      .thenComparing(r -> !r.hostSpecific())
      .thenComparing(PlacedRoute::service);

  private final GatewayConfig gateway;

  RouteTranslator(GatewayConfig gateway) {
    this.gateway = gateway;
  }

  RouteConfiguration routeConfiguration(RegistryState state) {
    Map<String, List<PlacedRoute>> byHost = new TreeMap<>();
    byHost.put(ANY_HOST, new ArrayList<>());
    for (ServiceState service : state.services().values()) {
      for (RouteSpec route : service.routes()) {
        if (route.hosts().isEmpty()) {
          byHost.get(ANY_HOST).add(new PlacedRoute(service.name(), route, false));
        } else {
          route.hosts().forEach(host -> byHost.computeIfAbsent(host, h -> new ArrayList<>())
              .add(new PlacedRoute(service.name(), route, true)));
        }
      }
    }
    List<PlacedRoute> anyHostRoutes = byHost.get(ANY_HOST);
    RouteConfiguration.Builder config = RouteConfiguration.newBuilder()
        .setName(XdsNames.routeConfiguration(gateway.listenerName()));
    byHost.forEach((host, routes) -> {
      List<PlacedRoute> ordered = new ArrayList<>(routes);
      if (!host.equals(ANY_HOST)) {
        ordered.addAll(anyHostRoutes);
      }
      ordered.sort(FIRST_MATCH_ORDER);
      VirtualHost.Builder virtualHost = VirtualHost.newBuilder()
          .setName(XdsNames.virtualHost(host))
          .addDomains(host);
      ordered.forEach(route -> virtualHost.addRoutes(route(route.service(), route.spec())));
      config.addVirtualHosts(virtualHost);
    });
    return config.build();
  }

  private static Route route(String service, RouteSpec spec) {
    RouteAction.Builder action = RouteAction.newBuilder().setCluster(XdsNames.serviceCluster(service));
    spec.prefixRewrite().ifPresent(action::setPrefixRewrite);
    spec.timeout().ifPresent(timeout -> action.setTimeout(Durations.fromNanos(timeout.toNanos())));
    return Route.newBuilder()
        .setName(XdsNames.route(service, spec.match().toString()))
        .setMatch(match(spec.match()))
        .setRoute(action)
        .build();
  }

  private static RouteMatch match(io.signalbox.model.RouteMatch match) {
    RouteMatch.Builder builder = RouteMatch.newBuilder();
    PathMatch path = match.path();
    switch (path.kind()) {
      case EXACT -> builder.setPath(path.value());
      case REGEX -> builder.setSafeRegex(RegexMatcher.newBuilder().setRegex(path.value()));
      case PREFIX -> {
        // "/orders" should not match "/ordersx": Envoy's separated prefix stops at a '/' boundary, but it
        // cannot express a prefix that already ends in '/', which a plain prefix handles the same way.
        if (path.value().endsWith("/")) {
          builder.setPrefix(path.value());
        } else {
          builder.setPathSeparatedPrefix(path.value());
        }
      }
      default -> throw new IllegalStateException("unknown path match " + path.kind());
    }
    match.headers().forEach(header -> builder.addHeaders(headerMatcher(header)));
    if (!match.methods().isEmpty()) {
      builder.addHeaders(HeaderMatcher.newBuilder()
          .setName(":method")
          .setStringMatch(match.methods().size() == 1
              ? StringMatcher.newBuilder().setExact(match.methods().get(0))
              : StringMatcher.newBuilder().setSafeRegex(
                  RegexMatcher.newBuilder().setRegex(String.join("|", match.methods())))));
    }
    return builder.build();
  }

  private static HeaderMatcher headerMatcher(HeaderMatch header) {
    HeaderMatcher.Builder matcher = HeaderMatcher.newBuilder()
        .setName(header.name())
        .setInvertMatch(header.invert());
    switch (header.kind()) {
      case EXACT -> matcher.setStringMatch(StringMatcher.newBuilder().setExact(header.value()));
      case PREFIX -> matcher.setStringMatch(StringMatcher.newBuilder().setPrefix(header.value()));
      case REGEX -> matcher.setStringMatch(StringMatcher.newBuilder()
          .setSafeRegex(RegexMatcher.newBuilder().setRegex(header.value())));
      case PRESENT -> matcher.setPresentMatch(true);
      case ABSENT -> matcher.setPresentMatch(false);
      default -> throw new IllegalStateException("unknown header match " + header.kind());
    }
    return matcher.build();
  }
}
