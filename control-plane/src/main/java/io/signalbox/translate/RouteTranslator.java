package io.signalbox.translate;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.ListenerSpec;
import io.signalbox.model.HeaderMatch;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.model.TrafficPolicy;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * All services' routes as one RouteConfiguration, which every serving listener shares, with a
 * virtual host per registered host.
 *
 * <p>A route registered without hosts serves every host, so it is also placed in each host's
 * virtual host (Envoy consults only the one virtual host that matches the authority); likewise a
 * {@code *.example.com} route is placed in the virtual host of each host below it. Within a virtual
 * host routes are ordered by specificity, because Envoy takes the first match: exact before regex
 * before prefix, longer prefix first, and at an equal match the host-specific route before the
 * any-host one.
 */
final class RouteTranslator {

  private static final String ANY_HOST = "*";

  /**
   * A route as planned for the edge, before it is rendered: what it does and the policies this
   * Envoy enforces on it ({@link PolicyRoute}, decided with {@link PolicyPlacement}), and where it
   * forwards to.
   */
  private record PlannedRoute(PolicyRoute decided, Destination destination) {
    String service() {
      return decided.service();
    }

    /** Placed by hosts of its own, rather than for any host (which pins' copies keep too). */
    boolean hostSpecific() {
      return !decided.spec().hosts().isEmpty();
    }
  }

  /**
   * A route of {@code service} as planned, and before it (being more specific) one copy per pin of
   * a version split, which also matches the pin's header and goes to its version.
   */
  private static List<PlannedRoute> planned(
      ServiceState service,
      RouteSpec route,
      List<String> claimHeaders,
      PolicyPlacement.Enforcement enforcement,
      GatewaySettings settings) {
    Destination destination = Destination.of(service);
    List<PlannedRoute> planned = new ArrayList<>();
    planned.add(
        new PlannedRoute(
            decided(service.name(), route, claimHeaders, enforcement, settings), destination));
    service
        .traffic()
        .versions()
        .ifPresent(
            split -> {
              for (TrafficPolicy.VersionPin pin : split.pins()) {
                List<HeaderMatch> headers = new ArrayList<>(route.match().headers());
                headers.add(pinMatch(pin));
                RouteSpec pinned =
                    route.withMatch(
                        new io.signalbox.model.RouteMatch(
                            route.match().path(), headers, route.match().methods()));
                planned.add(
                    new PlannedRoute(
                        decided(service.name(), pinned, claimHeaders, enforcement, settings),
                        destination.pinnedTo(pin.version())));
              }
            });
    return planned;
  }

  /**
   * A pin's condition: the header's exact value, or the cookie among the Cookie header's pairs (the
   * regex the validator priced).
   */
  private static HeaderMatch pinMatch(TrafficPolicy.VersionPin pin) {
    return switch (pin.on()) {
      case HEADER -> new HeaderMatch(pin.name(), HeaderMatch.Kind.EXACT, pin.value(), false);
      case COOKIE -> new HeaderMatch("cookie", HeaderMatch.Kind.REGEX, pin.cookieRegex(), false);
    };
  }

  private static final Comparator<PlannedRoute> FIRST_MATCH_ORDER =
      Comparator.comparing((PlannedRoute r) -> r.decided().spec().match())
          .thenComparing(r -> !r.hostSpecific())
          .thenComparing(PlannedRoute::service);

  private final List<HttpFilterTranslator> filters;

  /**
   * A service's routes as the previous route configuration placed them, by virtual host ({@link
   * #ANY_HOST} for routes without hosts), kept while the service's state is the same object and its
   * policies stay where they were: a route change places and renders only the changed service's
   * routes, not every route of the registry again.
   */
  private record PlacedService(
      ServiceState service, boolean handingOver, Map<String, List<PlannedRoute>> byHost) {}

  /** Each service's placement in the last configuration, updated in place. */
  private Map<String, PlacedService> placed = new HashMap<>();

  /** The last configuration: the same object while no service's routes moved. */
  private RouteConfiguration last;

  /**
   * The rendered route of each placed route of the last configuration (a placed route renders the
   * same in every virtual host): kept placements keep their renders, and a changed service's old
   * renders leave with its old placement.
   */
  private Map<PlannedRoute, Route> rendered = new IdentityHashMap<>();

  /** A virtual host of the last configuration: its routes in first-match order, and the message. */
  private record OrderedHost(List<PlannedRoute> routes, VirtualHost virtualHost) {}

  /** The last configuration's virtual hosts, by host. */
  private Map<String, OrderedHost> hostsBefore = new HashMap<>();

  RouteTranslator(List<HttpFilterTranslator> filters) {
    this.filters = filters;
  }

  /**
   * The shared route configuration, and one redirecting configuration per listener that redirects
   * to HTTPS.
   */
  List<RouteConfiguration> routeConfigurations(
      RegistryState state, GatewaySettings settings, PolicyHandover handover) {
    List<RouteConfiguration> configurations = new ArrayList<>();
    configurations.add(byDifference(state, settings, handover));
    settings.listeners().stream()
        .filter(ListenerSpec::redirectToHttps)
        .forEach(listener -> configurations.add(redirectConfiguration(listener, settings)));
    return configurations;
  }

  /**
   * Forgets every placement and rendering: the next configuration is made from scratch. For other
   * settings, and after a configuration that failed half way (placements are updated in place, so
   * half of them would be the new ones, which the next configuration would take as placed).
   */
  void forget() {
    placed = new HashMap<>();
    rendered = new IdentityHashMap<>();
    hostsBefore = new HashMap<>();
    last = null;
  }

  private RouteConfiguration byDifference(
      RegistryState state, GatewaySettings settings, PolicyHandover handover) {
    // The services whose routes moved (placed anew with another plan, or gone), and where they
    // were: only their routes move in the virtual hosts.
    java.util.Set<String> changed = new java.util.HashSet<>();
    List<PlacedService> movedFrom = new ArrayList<>();
    for (ServiceState service : state.services().values()) {
      boolean handingOver = handover.includes(service.name());
      PlacedService before = placed.get(service.name());
      if (before != null && before.service() == service && before.handingOver() == handingOver) {
        continue;
      }
      PlacedService now = place(service, handingOver, settings);
      if (before != null && before.byHost().equals(now.byHost())) {
        // Another state of the service whose routes plan the same (an instance change): its
        // planned routes, and so their renders and the configuration, stay.
        placed.put(service.name(), new PlacedService(service, handingOver, before.byHost()));
        continue;
      }
      placed.put(service.name(), now);
      changed.add(service.name());
      if (before != null) {
        movedFrom.add(before);
      }
    }
    if (placed.size() > state.services().size()) {
      // Some services are gone (walked only then).
      for (java.util.Iterator<Map.Entry<String, PlacedService>> it = placed.entrySet().iterator();
          it.hasNext(); ) {
        Map.Entry<String, PlacedService> entry = it.next();
        if (!state.services().containsKey(entry.getKey())) {
          changed.add(entry.getKey());
          movedFrom.add(entry.getValue());
          it.remove();
        }
      }
    }
    if (changed.isEmpty() && last != null) {
      return last;
    }
    movedFrom.forEach(
        before -> before.byHost().values().forEach(routes -> routes.forEach(rendered::remove)));
    Map<String, List<PlannedRoute>> byHost = new TreeMap<>();
    byHost.put(ANY_HOST, new ArrayList<>());
    placed.values().forEach(placement -> addByHost(byHost, placement));
    // The changed services' routes by host, once: each virtual host takes its share.
    Map<String, List<PlannedRoute>> changedByHost = new TreeMap<>();
    changedByHost.put(ANY_HOST, new ArrayList<>());
    for (String service : changed) {
      PlacedService placement = placed.get(service);
      if (placement != null) {
        addByHost(changedByHost, placement);
      }
    }
    Map<String, OrderedHost> hostsNow = new HashMap<>();
    RouteConfiguration.Builder config =
        RouteConfiguration.newBuilder().setName(XdsNames.GATEWAY_ROUTES);
    byHost.forEach(
        (host, routes) -> {
          OrderedHost before = hostsBefore.get(host);
          OrderedHost now =
              before == null
                  ? orderedHost(host, inFirstMatchOrder(host, byHost), settings)
                  : reordered(host, before, changed, changedByHost, settings);
          hostsNow.put(host, now);
          config.addVirtualHosts(now.virtualHost());
        });
    hostsBefore = hostsNow;
    last = config.build();
    return last;
  }

  private static void addByHost(Map<String, List<PlannedRoute>> byHost, PlacedService placement) {
    placement
        .byHost()
        .forEach(
            (host, routes) -> byHost.computeIfAbsent(host, h -> new ArrayList<>()).addAll(routes));
  }

  /**
   * A virtual host's routes in first-match order: its own, then (but in the any-host one) the
   * any-host routes and those of the wildcards above it, sorted. Envoy consults only the most
   * specific virtual host: without the copies, a host below a wildcard would hide the wildcard's
   * routes (and a registration could take them over by naming such a host). Looked up by the host's
   * own suffixes, not by scanning hosts.
   */
  private static List<PlannedRoute> inFirstMatchOrder(
      String host, Map<String, List<PlannedRoute>> byHost) {
    List<PlannedRoute> ordered = new ArrayList<>(byHost.getOrDefault(host, List.of()));
    if (!host.equals(ANY_HOST)) {
      ordered.addAll(byHost.get(ANY_HOST));
      for (String wildcard : coveringWildcards(host)) {
        ordered.addAll(byHost.getOrDefault(wildcard, List.of()));
      }
    }
    ordered.sort(FIRST_MATCH_ORDER);
    return ordered;
  }

  /**
   * The virtual host {@code before} after the {@code changed} services moved: their old routes
   * taken out of its order and their new ones merged in, so a change sorts its own routes only; the
   * very same virtual host when none of them has a route there. Routes of two services never
   * compare equal (the order ends with the service), so the merge gives the order a sort of all
   * would.
   */
  private OrderedHost reordered(
      String host,
      OrderedHost before,
      java.util.Set<String> changed,
      Map<String, List<PlannedRoute>> changedByHost,
      GatewaySettings settings) {
    List<PlannedRoute> fresh = inFirstMatchOrder(host, changedByHost);
    List<PlannedRoute> kept = new ArrayList<>(before.routes().size() + fresh.size());
    for (PlannedRoute route : before.routes()) {
      if (!changed.contains(route.service())) {
        kept.add(route);
      }
    }
    if (fresh.isEmpty() && kept.size() == before.routes().size()) {
      return before;
    }
    List<PlannedRoute> merged = new ArrayList<>(kept.size() + fresh.size());
    int k = 0;
    int f = 0;
    while (k < kept.size() && f < fresh.size()) {
      merged.add(
          FIRST_MATCH_ORDER.compare(kept.get(k), fresh.get(f)) <= 0
              ? kept.get(k++)
              : fresh.get(f++));
    }
    merged.addAll(kept.subList(k, kept.size()));
    merged.addAll(fresh.subList(f, fresh.size()));
    return orderedHost(host, merged, settings);
  }

  private OrderedHost orderedHost(
      String host, List<PlannedRoute> ordered, GatewaySettings settings) {
    VirtualHost.Builder virtualHost =
        VirtualHost.newBuilder().setName(XdsNames.virtualHost(host)).addDomains(host);
    for (PlannedRoute route : ordered) {
      virtualHost.addRoutes(rendered.computeIfAbsent(route, placed -> render(placed, settings)));
    }
    return new OrderedHost(List.copyOf(ordered), virtualHost.build());
  }

  /** A planned route rendered. */
  private Route render(PlannedRoute planned, GatewaySettings settings) {
    return route(planned.decided(), planned.destination(), settings);
  }

  /**
   * A service's routes planned and placed by virtual host, each route also before its version pins'
   * copies; a route with several hosts is the same planned route in each.
   */
  private static PlacedService place(
      ServiceState service, boolean handingOver, GatewaySettings settings) {
    List<String> claimHeaders = PolicyRoute.claimHeaders(service, settings.defaults());
    // Looked at once per service: whether its sidecars may take its routes' policies.
    boolean sidecared = PolicyPlacement.everyInstanceHasASidecar(service);
    Map<String, List<PlannedRoute>> byHost = new TreeMap<>();
    for (RouteSpec route : service.routes()) {
      List<PlannedRoute> planned =
          planned(
              service,
              route,
              claimHeaders,
              PolicyPlacement.enforcement(sidecared, handingOver, route),
              settings);
      for (String host : route.hosts().isEmpty() ? List.of(ANY_HOST) : route.hosts()) {
        byHost.computeIfAbsent(host, h -> new ArrayList<>()).addAll(planned);
      }
    }
    return new PlacedService(service, handingOver, byHost);
  }

  /**
   * A route as the edge serves it: with its policies where the edge enforces them, and handing the
   * verified token on where the sidecars verify it again.
   */
  private static PolicyRoute decided(
      String service,
      RouteSpec spec,
      List<String> claimHeaders,
      PolicyPlacement.Enforcement enforcement,
      GatewaySettings settings) {
    PolicyRoute decided =
        PolicyRoute.resolve(service, spec, settings, claimHeaders, enforcement.atEdge());
    return enforcement == PolicyPlacement.Enforcement.EDGE_AND_SIDECARS
        ? decided.forwardingVerifiedToken()
        : decided;
  }

  /**
   * The {@code *.} wildcards that cover {@code host}, a name or a narrower wildcard: for {@code
   * a.b.example.com} (or {@code *.b.example.com}), {@code *.b.example.com} (only for the name),
   * {@code *.example.com} and {@code *.com}.
   */
  private static List<String> coveringWildcards(String host) {
    List<String> wildcards = new ArrayList<>();
    String rest = host.startsWith("*.") ? host.substring(2) : host;
    for (int dot = rest.indexOf('.'); dot >= 0; dot = rest.indexOf('.')) {
      rest = rest.substring(dot + 1);
      wildcards.add("*." + rest);
    }
    return wildcards;
  }

  /**
   * Every request to a plaintext listener that redirects is sent to the same URL on the first HTTPS
   * listener; the settings loader guarantees there is one.
   */
  private static RouteConfiguration redirectConfiguration(
      ListenerSpec listener, GatewaySettings settings) {
    RedirectAction.Builder redirect = RedirectAction.newBuilder().setHttpsRedirect(true);
    settings.listeners().stream()
        .filter(l -> l.protocol() == ListenerSpec.Protocol.HTTPS)
        .findFirst()
        .ifPresent(https -> redirect.setPortRedirect(https.port()));
    return RouteConfiguration.newBuilder()
        .setName(XdsNames.redirectRouteConfiguration(listener.name()))
        .addVirtualHosts(
            VirtualHost.newBuilder()
                .setName(XdsNames.ANY_HOST_VIRTUAL_HOST)
                .addDomains(ANY_HOST)
                .addRoutes(
                    Route.newBuilder()
                        .setName("redirect-to-https")
                        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRedirect(redirect)))
        .build();
  }

  /** Renders a route as decided: its match, its action, then each policy's configuration. */
  private Route route(PolicyRoute policyRoute, Destination destination, GatewaySettings settings) {
    RouteSpec spec = policyRoute.spec();
    Route.Builder route =
        Route.newBuilder().setName(policyRoute.name()).setMatch(match(spec.match()));
    if (policyRoute.action() instanceof io.signalbox.model.RouteAction.Forward) {
      route.setRoute(forwarding(policyRoute, destination, settings.limits().maxRouteTimeout()));
    }
    HeaderRewriteTranslator.apply(spec, route);
    if (!policyRoute.failsClosed()) {
      // A route that fails closed forwards nothing: there is nothing to authenticate, authorize
      // or count, and a policy's configuration could name what is missing.
      for (HttpFilterTranslator filter : filters) {
        filter.patchRoute(policyRoute, route, settings);
      }
    }
    RouteActionTranslator.answer(policyRoute.action(), route);
    return route.build();
  }

  private static RouteAction.Builder forwarding(
      PolicyRoute policyRoute, Destination destination, java.time.Duration longestDeadline) {
    RouteSpec spec = policyRoute.spec();
    RouteAction.Builder action = TrafficPolicyTranslator.routeAction(destination);
    spec.prefixRewrite().ifPresent(action::setPrefixRewrite);
    RouteTimeouts.apply(action, spec.timeout(), destination, longestDeadline);
    spec.retry()
        .ifPresent(retry -> action.setRetryPolicy(RetryPolicyTranslator.retryPolicy(retry)));
    RouteActionTranslator.forward(policyRoute.action(), action);
    return action;
  }

  static RouteMatch match(io.signalbox.model.RouteMatch match) {
    RouteMatch.Builder builder = RouteMatch.newBuilder();
    PathMatch path = match.path();
    switch (path.kind()) {
      case EXACT -> builder.setPath(path.value());
      case REGEX -> builder.setSafeRegex(RegexMatcher.newBuilder().setRegex(path.value()));
      case PREFIX -> {
        // "/orders" should not match "/ordersx": Envoy's separated prefix stops at a '/' boundary,
        // but it
        // cannot express a prefix that already ends in '/', which a plain prefix handles the same
        // way.
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
      builder.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(":method")
              .setStringMatch(
                  match.methods().size() == 1
                      ? StringMatcher.newBuilder().setExact(match.methods().get(0))
                      : StringMatcher.newBuilder()
                          .setSafeRegex(
                              RegexMatcher.newBuilder()
                                  .setRegex(String.join("|", match.methods())))));
    }
    return builder.build();
  }

  private static HeaderMatcher headerMatcher(HeaderMatch header) {
    HeaderMatcher.Builder matcher =
        HeaderMatcher.newBuilder().setName(header.name()).setInvertMatch(header.invert());
    switch (header.kind()) {
      case EXACT -> matcher.setStringMatch(StringMatcher.newBuilder().setExact(header.value()));
      case PREFIX -> matcher.setStringMatch(StringMatcher.newBuilder().setPrefix(header.value()));
      case REGEX ->
          matcher.setStringMatch(
              StringMatcher.newBuilder()
                  .setSafeRegex(RegexMatcher.newBuilder().setRegex(header.value())));
      case PRESENT -> matcher.setPresentMatch(true);
      case ABSENT -> matcher.setPresentMatch(false);
      default -> throw new IllegalStateException("unknown header match " + header.kind());
    }
    return matcher.build();
  }
}
