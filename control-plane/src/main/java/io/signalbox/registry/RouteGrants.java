package io.signalbox.registry;

import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteSpec;
import io.signalbox.security.AccessControl;
import io.signalbox.security.AccessPolicy.ServiceGrant;
import io.signalbox.security.Identity;
import java.util.List;
import java.util.Optional;

/** Whether a registration's routes stay inside what the operator granted its service. */
final class RouteGrants {

  private RouteGrants() {}

  /**
   * Why {@code who} may not hold {@code registration} under the access policy in force, beyond
   * registering its service: a route outside the service's grant, or a mirror to a service {@code
   * who} may not register. Asked when a service registers, and of every live registration when the
   * policy changes ({@link AccessRevocation}).
   */
  static Optional<String> refusal(Registration registration, Identity who, AccessControl access) {
    Optional<String> outsideGrant = refusal(registration, access.grant(registration.service()));
    if (outsideGrant.isPresent()) {
      return outsideGrant;
    }
    return mirrorRefusal(registration, service -> access.registrationRefusal(who, service));
  }

  /**
   * Why a route of {@code registration} lies outside {@code grant}, naming the field; empty when
   * every route lies inside (or the service has no grant: it may claim any route no other service
   * holds).
   */
  static Optional<String> refusal(Registration registration, Optional<ServiceGrant> grant) {
    if (grant.isEmpty()) {
      return regexOutsideOwnPrefixes(registration);
    }
    List<RouteSpec> routes = registration.routes();
    for (int i = 0; i < routes.size(); i++) {
      RouteSpec route = routes.get(i);
      if (route.hosts().isEmpty() && !grant.get().hosts().contains("*")) {
        return Optional.of(
            "routes["
                + i
                + "].hosts: service '"
                + registration.service()
                + "' may not serve a route "
                + "on every host (no hosts); its grant allows "
                + grant.get().hosts());
      }
      for (int h = 0; h < route.hosts().size(); h++) {
        String host = route.hosts().get(h);
        if (grant.get().hosts().stream().noneMatch(granted -> covers(granted, host))) {
          return Optional.of(
              "routes["
                  + i
                  + "].hosts["
                  + h
                  + "]: service '"
                  + registration.service()
                  + "' may not claim host '"
                  + host
                  + "'; its grant allows "
                  + grant.get().hosts());
        }
      }
      if (grant.get().pathPrefixes().stream()
          .noneMatch(prefix -> route.match().path().within(prefix))) {
        return Optional.of(
            "routes["
                + i
                + "].path: "
                + route.match().path()
                + " lies outside the path prefixes "
                + "granted to service '"
                + registration.service()
                + "' "
                + grant.get().pathPrefixes()
                + (route.match().path().kind() == PathMatch.Kind.REGEX
                    ? " (a regex route must begin with a literal path inside one of them)"
                    : ""));
      }
    }
    return Optional.empty();
  }

  /**
   * Why a route of {@code registration} may not mirror its requests where it does, naming the
   * field; empty when it may. A mirror sends copies of the route's requests (tokens and bodies
   * included, past the target's own edge policies) to another service, so the registering identity
   * must be one that may register that service: {@code refusal} says why it may not register a
   * service.
   */
  static Optional<String> mirrorRefusal(
      Registration registration, java.util.function.Function<String, Optional<String>> refusal) {
    List<RouteSpec> routes = registration.routes();
    for (int i = 0; i < routes.size(); i++) {
      if (routes.get(i).action() instanceof io.signalbox.model.RouteAction.Forward forward
          && forward.mirror().isPresent()) {
        String target = forward.mirror().get().service();
        Optional<String> refused = refusal.apply(target);
        if (refused.isPresent()) {
          return Optional.of(
              "routes["
                  + i
                  + "].mirror.service: "
                  + refused.get()
                  + ", so it may not mirror requests to it");
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Without a grant, a regex route must begin with a literal path inside one of the registration's
   * own prefix routes: Envoy tries regex routes before every prefix route, so a regex reaching
   * outside what the service serves anyway could take requests that are not its own.
   */
  private static Optional<String> regexOutsideOwnPrefixes(Registration registration) {
    List<RouteSpec> routes = registration.routes();
    List<String> ownPrefixes =
        routes.stream()
            .map(route -> route.match().path())
            .filter(path -> path.kind() == PathMatch.Kind.PREFIX)
            .map(PathMatch::value)
            .toList();
    for (int i = 0; i < routes.size(); i++) {
      PathMatch path = routes.get(i).match().path();
      if (path.kind() == PathMatch.Kind.REGEX && ownPrefixes.stream().noneMatch(path::within)) {
        return Optional.of(
            "routes["
                + i
                + "].path.regex: a regex route must begin with a literal path inside one of "
                + "the registration's prefix routes "
                + ownPrefixes
                + " (or a path prefix granted to service '"
                + registration.service()
                + "'); '"
                + path.value()
                + "' begins with '"
                + path.guaranteedPrefix()
                + "'");
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
