package io.signalbox.translate;

import io.signalbox.config.PolicyDefaults;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A service's route with the policies in force for it: its registration's own, else the operator's
 * defaults (a public route never gets a default auth requirement).
 *
 * @param claimHeaders every request header that any policy of the service fills from a verified
 *     token, sorted. A service's backends trust these headers, so every route to them removes what
 *     a client sent under those names, including public routes and routes whose own policy forwards
 *     other claims.
 */
record PolicyRoute(
    String service,
    RouteSpec spec,
    Optional<AuthRequirement> auth,
    Optional<RateLimit> rateLimit,
    List<String> claimHeaders) {

  PolicyRoute {
    claimHeaders = List.copyOf(claimHeaders);
  }

  static PolicyRoute resolve(
      String service, RouteSpec spec, PolicyDefaults defaults, List<String> claimHeaders) {
    return new PolicyRoute(
        service, spec, defaults.authFor(spec), defaults.rateLimitFor(spec), claimHeaders);
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
