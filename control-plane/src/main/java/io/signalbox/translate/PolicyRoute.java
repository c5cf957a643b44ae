package io.signalbox.translate;

import io.signalbox.config.PolicyDefaults;
import io.signalbox.model.AuthRequirement;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RouteSpec;
import java.util.Optional;

/**
 * A service's route with the policies in force for it: its registration's own, else the operator's defaults (a
 * public route never gets a default auth requirement).
 */
record PolicyRoute(String service, RouteSpec spec, Optional<AuthRequirement> auth, Optional<RateLimit> rateLimit) {

  static PolicyRoute resolve(String service, RouteSpec spec, PolicyDefaults defaults) {
    Optional<AuthRequirement> auth = spec.publicRoute() ? Optional.empty() : spec.auth().or(defaults::auth);
    return new PolicyRoute(service, spec, auth, spec.rateLimit().or(defaults::rateLimit));
  }

  /** The route's name in Envoy, unique within a virtual host; rate-limit counters are keyed by it too. */
  String name() {
    return XdsNames.route(service, spec.match().toString());
  }
}
