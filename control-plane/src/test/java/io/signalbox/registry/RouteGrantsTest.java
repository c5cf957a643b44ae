package io.signalbox.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RouteMatch;
import io.signalbox.model.RouteSpec;
import io.signalbox.security.AccessPolicy.ServiceGrant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RouteGrantsTest {

  private static final ServiceGrant USERS =
      new ServiceGrant(
          "users", List.of("api.example.com", "*.shop.example.com"), List.of("/users"));

  private static Registration users(List<String> hosts, PathMatch path) {
    RouteSpec route =
        new RouteSpec(
            hosts, new RouteMatch(path, List.of(), List.of()), Optional.empty(), Optional.empty());
    return new Registration("users", Instance.of("users-1", "10.0.0.1", 8080), List.of(route));
  }

  @Test
  void aServiceWithoutAGrantMayClaimAnyRoute() {
    assertThat(RouteGrants.refusal(users(List.of(), PathMatch.prefix("/")), Optional.empty()))
        .isEmpty();
  }

  @Test
  void withoutAGrantARegexMustBeginInsideOneOfTheRegistrationsOwnPrefixes() {
    Registration regexOnly = users(List.of(), PathMatch.regex("/.*"));
    assertThat(RouteGrants.refusal(regexOnly, Optional.empty()))
        .get()
        .asString()
        .startsWith(
            "routes[0].path.regex: a regex route must begin with a literal path inside one of the "
                + "registration's prefix routes []");

    Registration regexInsideOwnPrefix =
        new Registration(
            "users",
            regexOnly.instance(),
            List.of(
                RouteSpec.builder(PathMatch.prefix("/users")).build(),
                RouteSpec.builder(PathMatch.regex("/users/[0-9]+")).build()));
    assertThat(RouteGrants.refusal(regexInsideOwnPrefix, Optional.empty())).isEmpty();

    Registration regexBesideOwnPrefix =
        new Registration(
            "users",
            regexOnly.instance(),
            List.of(
                RouteSpec.builder(PathMatch.prefix("/users")).build(),
                RouteSpec.builder(PathMatch.regex("/users.*")).build()));
    assertThat(RouteGrants.refusal(regexBesideOwnPrefix, Optional.empty()))
        .get()
        .asString()
        .contains("'/users.*' begins with '/users'");
  }

  @Test
  void routesInsideTheGrantedHostsAndPathsPass() {
    assertThat(
            RouteGrants.refusal(
                users(List.of("api.example.com"), PathMatch.prefix("/users/v2")),
                Optional.of(USERS)))
        .isEmpty();
    assertThat(
            RouteGrants.refusal(
                users(List.of("eu.shop.example.com"), PathMatch.regex("/users/[0-9]+")),
                Optional.of(USERS)))
        .isEmpty();
  }

  @Test
  void aRouteOutsideTheGrantIsRefusedNamingTheField() {
    assertThat(
            RouteGrants.refusal(
                users(List.of("api.example.com"), PathMatch.prefix("/orders")), Optional.of(USERS)))
        .get()
        .asString()
        .startsWith("routes[0].path: prefix /orders lies outside");
    assertThat(
            RouteGrants.refusal(
                users(List.of("evil.example.com"), PathMatch.prefix("/users")), Optional.of(USERS)))
        .get()
        .asString()
        .startsWith("routes[0].hosts[0]: service 'users' may not claim host");
    assertThat(
            RouteGrants.refusal(users(List.of(), PathMatch.prefix("/users")), Optional.of(USERS)))
        .get()
        .asString()
        .startsWith("routes[0].hosts: service 'users' may not serve a route on every host");
    assertThat(
            RouteGrants.refusal(
                users(List.of("api.example.com"), PathMatch.regex("/.*")), Optional.of(USERS)))
        .get()
        .asString()
        .contains("must begin with a literal path");
  }

  private static Registration mirroringTo(String shadow) {
    return new Registration(
        "orders",
        Instance.of("orders-1", "10.0.0.1", 8080),
        List.of(
            RouteSpec.builder(PathMatch.prefix("/orders")).build(),
            RouteSpec.builder(PathMatch.prefix("/orders/new"))
                .action(
                    io.signalbox.model.RouteAction.Forward.builder()
                        .mirror(Optional.of(new io.signalbox.model.RouteAction.Mirror(shadow, 10)))
                        .build())
                .build()));
  }

  @Test
  void aMirrorToAServiceTheIdentityMayRegisterPasses() {
    assertThat(RouteGrants.mirrorRefusal(mirroringTo("orders-shadow"), service -> Optional.empty()))
        .isEmpty();
  }

  @Test
  void aMirrorToAServiceTheIdentityMayNotRegisterIsRefusedNamingTheRoutesField() {
    assertThat(
            RouteGrants.mirrorRefusal(
                mirroringTo("payments"),
                service -> Optional.of("identity 'x' may not register service '" + service + "'")))
        .hasValue(
            "routes[1].mirror.service: identity 'x' may not register service 'payments', so it"
                + " may not mirror requests to it");
  }
}
