package io.signalbox.translate;

import io.signalbox.config.GatewaySettings;
import io.signalbox.config.PolicyDefaults;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A service's route as decided before anything is rendered: the policies in force for it (its
 * registration's own, else the operator's defaults; a public route never gets a default auth
 * requirement) and what it does. That is the registration's action, unless a policy it needs cannot
 * be enforced on this gateway: then it fails closed with a 503 that says why, and no policy filter
 * is configured for it.
 *
 * @param action what the route does: forward, redirect, or answer directly (also when it fails
 *     closed)
 * @param failsClosed whether {@code action} is the 503 of a policy that cannot be enforced
 * @param claimHeaders every request header that any policy of the service fills from a verified
 *     token, sorted. A service's backends trust these headers, so every route to them removes what
 *     a client sent under those names, including public routes and routes whose own policy forwards
 *     other claims.
 * @param forwardsVerifiedToken whether the route hands the token it verified on to the next hop,
 *     whatever its provider says: the edge's route while the service's sidecars verify it too
 *     ({@link PolicyHandover})
 */
record PolicyRoute(
    String service,
    RouteSpec spec,
    Optional<AuthRequirement> auth,
    Optional<RateLimit> rateLimit,
    List<String> claimHeaders,
    RouteAction action,
    boolean failsClosed,
    boolean forwardsVerifiedToken) {

  PolicyRoute {
    claimHeaders = List.copyOf(claimHeaders);
  }

  static PolicyRoute resolve(
      String service, RouteSpec spec, GatewaySettings settings, List<String> claimHeaders) {
    return resolve(service, spec, settings, claimHeaders, true);
  }

  /**
   * As decided by the Envoy that renders it: {@code enforcedHere} is false where another Envoy
   * enforces the route's policies ({@link PolicyPlacement}), and the route then only forwards.
   */
  static PolicyRoute resolve(
      String service,
      RouteSpec spec,
      GatewaySettings settings,
      List<String> claimHeaders,
      boolean enforcedHere) {
    if (!enforcedHere) {
      return new PolicyRoute(
          service,
          spec,
          Optional.empty(),
          Optional.empty(),
          claimHeaders,
          spec.action(),
          false,
          false);
    }
    PolicyDefaults defaults = settings.defaults();
    Optional<AuthRequirement> auth = defaults.authFor(spec);
    Optional<String> missingProvider =
        auth.map(AuthRequirement::provider).filter(name -> settings.jwtProvider(name).isEmpty());
    // The operator removed a provider that a registration still names. Serving the route
    // unauthenticated is never an option, and a requirement naming an unknown provider would only
    // be caught per request.
    RouteAction action =
        missingProvider
            .<RouteAction>map(
                name ->
                    new RouteAction.DirectResponse(
                        503, "JWT provider '" + name + "' is not configured on this gateway\n"))
            .orElse(spec.action());
    // A service-wide or default limit that cannot count this route's requests is not in force on
    // it (a route's own is refused at registration).
    Optional<RateLimit> rateLimit =
        defaults.rateLimitFor(spec).filter(limit -> limit.countsOn(action));
    return new PolicyRoute(
        service, spec, auth, rateLimit, claimHeaders, action, missingProvider.isPresent(), false);
  }

  /** This route, handing the token it verified on to the sidecar that verifies it again. */
  PolicyRoute forwardingVerifiedToken() {
    return new PolicyRoute(service, spec, auth, rateLimit, claimHeaders, action, failsClosed, true);
  }

  /** The headers {@link #claimHeaders()} lists for every route of {@code service}. */
  static List<String> claimHeaders(ServiceState service, PolicyDefaults defaults) {
    TreeSet<String> headers = new TreeSet<>();
    for (RouteSpec spec : service.routes()) {
      defaults
          .authFor(spec)
          .ifPresent(
              auth -> auth.forwardClaims().forEach(forward -> headers.add(forward.header())));
    }
    return List.copyOf(headers);
  }

  /**
   * The route's name in Envoy, unique within a virtual host; rate-limit counters are keyed by it
   * too.
   */
  String name() {
    return XdsNames.route(service, spec.match().toString());
  }
}
