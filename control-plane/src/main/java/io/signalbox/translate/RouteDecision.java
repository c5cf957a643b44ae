package io.signalbox.translate;

import io.signalbox.config.GatewaySettings;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteAction;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import java.util.List;
import java.util.Optional;

/**
 * A route as the translator decides it, for operators (the admin API): what it does, the policies
 * in force, and which Envoys enforce them. The same decision the routes sent to Envoy are rendered
 * from ({@link PolicyRoute}, {@link PolicyPlacement}), not a second reading of the registration.
 *
 * @param action what the route does: {@code forward}, {@code redirect 301}, {@code direct response
 *     418}, or {@code fail closed 503: <why>} when a policy it needs cannot be enforced
 * @param destination where a forwarding route sends its requests: {@code orders}, or with its
 *     version split and pins {@code orders (v1 90 %, v2 10 %; header x-canary=1 to v2)}
 * @param auth the JWT requirement in force, the registration's or the operator's default
 * @param rateLimit the rate limit in force
 * @param enforcedBySidecars whether the sidecars of the service enforce those policies (every
 *     instance has one and the path is the application's own) rather than the edge
 */
public record RouteDecision(
    String action,
    Optional<String> destination,
    Optional<AuthRequirement> auth,
    Optional<RateLimit> rateLimit,
    boolean enforcedBySidecars) {

  /** How {@code spec}, a route of {@code service}, is translated with {@code settings}. */
  public static RouteDecision of(ServiceState service, RouteSpec spec, GatewaySettings settings) {
    PolicyRoute decided = PolicyRoute.resolve(service.name(), spec, settings, List.of());
    return new RouteDecision(
        describe(decided),
        decided.action() instanceof RouteAction.Forward
            ? Optional.of(Destination.of(service).describe())
            : Optional.empty(),
        decided.auth(),
        decided.rateLimit(),
        PolicyPlacement.atSidecars(service, spec));
  }

  private static String describe(PolicyRoute decided) {
    RouteAction action = decided.action();
    if (action instanceof RouteAction.DirectResponse response) {
      return decided.failsClosed()
          ? "fail closed " + response.status() + ": " + response.body().strip()
          : "direct response " + response.status();
    }
    if (action instanceof RouteAction.Redirect redirect) {
      return "redirect " + redirect.code();
    }
    return "forward";
  }
}
