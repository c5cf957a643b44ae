package io.signalbox.registry;

import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.security.AccessPolicy.ServiceGrant;
import java.util.List;
import java.util.Optional;

/** Whether a registration's routes stay inside what the operator granted its service. */
final class RouteGrants {

  private RouteGrants() {
  }

  /**
   * Why a route of {@code registration} lies outside {@code grant}, naming the field; empty when every route lies
   * inside (or the service has no grant: it may claim any route no other service holds).
   */
  static Optional<String> refusal(Registration registration, Optional<ServiceGrant> grant) {
    if (grant.isEmpty()) {
      return Optional.empty();
    }
    List<RouteSpec> routes = registration.routes();
    for (int i = 0; i < routes.size(); i++) {
      RouteSpec route = routes.get(i);
      if (route.hosts().isEmpty() && !grant.get().hosts().contains("*")) {
        return Optional.of("routes[" + i + "].hosts: service '" + registration.service() + "' may not serve a route "
            + "on every host (no hosts); its grant allows " + grant.get().hosts());
      }
      for (int h = 0; h < route.hosts().size(); h++) {
        String host = route.hosts().get(h);
        if (grant.get().hosts().stream().noneMatch(granted -> covers(granted, host))) {
          return Optional.of("routes[" + i + "].hosts[" + h + "]: service '" + registration.service()
              + "' may not claim host '" + host + "'; its grant allows " + grant.get().hosts());
        }
      }
      if (grant.get().pathPrefixes().stream().noneMatch(prefix -> route.match().path().within(prefix))) {
        return Optional.of("routes[" + i + "].path: " + route.match().path() + " lies outside the path prefixes "
            + "granted to service '" + registration.service() + "' " + grant.get().pathPrefixes()
            + (route.match().path().kind() == io.signalbox.model.PathMatch.Kind.REGEX
            ? " (a regex route must begin with a literal path inside one of them)" : ""));
      }
    }
    return Optional.empty();
  }

  /** A granted host names the host, or ({@code *.example.com}) every host below a domain. */
  private static boolean covers(String granted, String host) {
    if (granted.equals(host)) {
      return true;
    }
    return granted.startsWith("*.") && host.endsWith(granted.substring(1));
  }
}
