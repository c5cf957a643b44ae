package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.HeaderMatch;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * No route of one service may take requests that reach another service's route. With {@code users}
 * serving the prefix {@code /users} on every host, each attempt below would have answered some of
 * its requests from another backend; each is refused naming {@code users} and its route, and the
 * registry stays as it was.
 */
class RouteCaptureTest {

  private final InMemoryRegistryStore store = new InMemoryRegistryStore(LeasePolicy.DEFAULT);

  private static Registration registration(String service, RouteSpec... routes) {
    return new Registration(
        service, Instance.of(service + "-1", "10.0.0.1", 8080), List.of(routes));
  }

  private void register(Registration registration) {
    store.register(registration, Optional.empty());
  }

  private static RouteSpec route(PathMatch path) {
    return RouteSpec.builder(path).build();
  }

  private void assertCaptureRefused(RouteSpec attempt, String how) {
    RegistryState before = store.state();
    assertThatThrownBy(() -> register(registration("attacker", attempt)))
        .isInstanceOfSatisfying(
            RouteConflictException.class, e -> assertThat(e.owner()).isEqualTo("users"))
        .hasMessageContaining("service 'users' (its route host=* prefix /users)")
        .hasMessageContaining(how);
    assertThat(store.state()).isSameAs(before);
  }

  @Nested
  class WithUsersOnEveryHost {

    {
      register(registration("users", route(PathMatch.prefix("/users"))));
    }

    @Test
    void aRegexMatchingEverythingIsRefused() {
      assertCaptureRefused(
          route(PathMatch.regex("/.*")), "a regex that can match paths inside its prefix");
    }

    @Test
    void aRegexBeginningInsideThePrefixIsRefused() {
      assertCaptureRefused(
          route(PathMatch.regex("/users/[0-9]+")),
          "a regex that can match paths inside its prefix");
    }

    @Test
    void aLongerPrefixInsideThePrefixIsRefused() {
      assertCaptureRefused(route(PathMatch.prefix("/users/admin")), "a prefix inside its prefix");
    }

    @Test
    void theSamePrefixOnASpecificHostIsRefused() {
      assertCaptureRefused(
          RouteSpec.builder(PathMatch.prefix("/users")).host("api.example.com").build(),
          "the same path");
    }

    @Test
    void theSamePrefixRefinedByAHeaderIsRefused() {
      assertCaptureRefused(
          RouteSpec.builder(PathMatch.prefix("/users"))
              .header(HeaderMatch.exact("x-canary", "1"))
              .build(),
          "the same path");
    }

    @Test
    void theSamePrefixRefinedByAMethodIsRefused() {
      assertCaptureRefused(
          RouteSpec.builder(PathMatch.prefix("/users")).method("POST").build(), "the same path");
    }

    @Test
    void anExactPathUnderThePrefixIsRefused() {
      assertCaptureRefused(route(PathMatch.exact("/users/me")), "an exact path inside its prefix");
    }

    @Test
    void theExactPathOfThePrefixIsRefused() {
      assertCaptureRefused(route(PathMatch.exact("/users")), "an exact path inside its prefix");
    }

    @ParameterizedTest(name = "{0} takes nothing from /users")
    @CsvSource({
      "prefix, /",
      "prefix, /usersx",
      "prefix, /user",
      "exact, /usersx",
      "exact, /",
    })
    void aRouteThatCanReachNoPathOfThePrefixIsAllowed(String kind, String path) {
      register(
          registration(
              "other", route(new PathMatch(PathMatch.Kind.valueOf(kind.toUpperCase()), path))));

      assertThat(store.state().services()).containsKeys("users", "other");
    }

    @Test
    void aRegexOutsideThePrefixIsAllowed() {
      register(
          registration(
              "other", route(PathMatch.prefix("/other")), route(PathMatch.regex("/other/[0-9]+"))));

      assertThat(store.state().services().get("other").routes()).hasSize(2);
    }

    @Test
    void theOwnerMayRefineItsOwnRoutes() {
      register(
          registration(
              "users",
              route(PathMatch.prefix("/users")),
              route(PathMatch.prefix("/users/admin")),
              route(PathMatch.regex("/users/[0-9]+")),
              route(PathMatch.exact("/users/me"))));

      assertThat(store.state().services().get("users").routes()).hasSize(4);
    }

    @Test
    void aSubPathTheOperatorDelegatedMayBeClaimedInsideThePrefix() {
      register(
          registration(
                  "admin",
                  route(PathMatch.prefix("/users/admin")),
                  route(PathMatch.regex("/users/admin/.*")))
              .withDelegatedPrefixes(List.of("/users/admin")));

      assertThat(store.state().services()).containsKeys("users", "admin");
    }

    @Test
    void aDelegationAsWideAsTheOwnersPrefixDelegatesNothing() {
      RegistryState before = store.state();

      assertThatThrownBy(
              () ->
                  register(
                      registration("attacker", route(PathMatch.prefix("/users/admin")))
                          .withDelegatedPrefixes(List.of("/", "/users"))))
          .isInstanceOf(RouteConflictException.class);
      assertThat(store.state()).isSameAs(before);
    }

    @Test
    void aDelegatedSubPathIsStillNotTheOwnersSamePath() {
      assertThatThrownBy(
              () ->
                  register(
                      registration(
                              "admin",
                              route(PathMatch.prefix("/users/admin")),
                              route(PathMatch.prefix("/users")))
                          .withDelegatedPrefixes(List.of("/users/admin"))))
          .isInstanceOf(RouteConflictException.class)
          .hasMessageContaining("the same path");
    }

    @Test
    void aDelegatedRouteKeepsItsPlaceWhenItsServiceChanges() {
      Registration admin =
          registration("admin", route(PathMatch.prefix("/users/admin")))
              .withDelegatedPrefixes(List.of("/users/admin"));
      Lease first = store.register(admin, Optional.empty());
      register(
          new Registration(
              "admin",
              Instance.of("admin-2", "10.0.0.2", 8080),
              admin.routes(),
              "",
              admin.delegatedPrefixes()));
      store.deregister(first.id());

      assertThat(store.state().services().get("admin").routes())
          .containsExactly(route(PathMatch.prefix("/users/admin")));
    }
  }

  @Nested
  class WhenTheOwnerCameSecond {

    @Test
    void aLessSpecificPrefixMayJoinBelowAnExistingOne() {
      register(registration("admin", route(PathMatch.prefix("/users/admin"))));

      register(registration("users", route(PathMatch.prefix("/users"))));

      assertThat(store.state().services()).containsKeys("users", "admin");
    }

    @Test
    void anExactPathUnderAnExistingRegexIsRefused() {
      register(registration("users", route(PathMatch.regex("/users/[0-9]+"))));

      assertThatThrownBy(
              () -> register(registration("attacker", route(PathMatch.exact("/users/42")))))
          .isInstanceOf(RouteConflictException.class)
          .hasMessageContaining("an exact path its regex matches");
    }

    @Test
    void theOwnerIsFoundAmongManyRoutesWithSimilarBeginnings() {
      register(registration("versions", route(PathMatch.regex("/api/v[0-9]+/.*"))));
      for (String sibling : List.of("/api/va", "/api/v", "/api/vz", "/api/u", "/apix", "/b")) {
        register(
            registration(
                "s" + Math.abs(sibling.hashCode()), route(PathMatch.prefix(sibling + "-x"))));
      }

      assertThatThrownBy(
              () -> register(registration("attacker", route(PathMatch.exact("/api/v1/orders")))))
          .isInstanceOfSatisfying(
              RouteConflictException.class, e -> assertThat(e.owner()).isEqualTo("versions"));
      register(registration("neighbour", route(PathMatch.exact("/api/vx/orders"))));
    }

    @Test
    void overlappingRegexesAreRefused() {
      register(registration("users", route(PathMatch.regex("/api/users/.*"))));

      assertThatThrownBy(
              () -> register(registration("attacker", route(PathMatch.regex("/api/.*")))))
          .isInstanceOf(RouteConflictException.class)
          .hasMessageContaining("a regex that can match the paths of its regex");
    }
  }

  @Nested
  class Hosts {

    @Test
    void aHostBelowAnotherServicesWildcardCannotTakeItsPath() {
      register(
          registration(
              "users",
              RouteSpec.builder(PathMatch.prefix("/users")).host("*.example.com").build()));

      assertThatThrownBy(
              () ->
                  register(
                      registration(
                          "attacker",
                          RouteSpec.builder(PathMatch.prefix("/users"))
                              .host("api.example.com")
                              .build())))
          .isInstanceOf(RouteConflictException.class);
    }

    @Test
    void theSamePathOnUnrelatedHostsIsAllowed() {
      register(
          registration(
              "users",
              RouteSpec.builder(PathMatch.prefix("/users")).host("a.example.com").build()));
      register(
          registration(
              "other",
              RouteSpec.builder(PathMatch.prefix("/users")).host("b.example.com").build(),
              RouteSpec.builder(PathMatch.prefix("/users")).host("*.example.org").build()));

      assertThat(store.state().services()).containsKeys("users", "other");
    }

    @Test
    void ofSeveralRoutesANewOneWouldCaptureTheFirstClaimedIsNamed() {
      register(
          registration(
              "first",
              RouteSpec.builder(PathMatch.exact("/users/1")).host("y.a.example.com").build()));
      register(
          registration(
              "second",
              RouteSpec.builder(PathMatch.exact("/users/1")).host("x.a.example.com").build()));

      assertThatThrownBy(
              () ->
                  register(
                      registration(
                          "attacker",
                          RouteSpec.builder(PathMatch.exact("/users/1"))
                              .host("*.a.example.com")
                              .build())))
          .isInstanceOfSatisfying(
              RouteConflictException.class, e -> assertThat(e.owner()).isEqualTo("first"));
    }

    /**
     * The claims a new route is compared with are found by host ({@code RouteClaims} indexes them):
     * over random registrations on overlapping and unrelated hosts and wildcards, a registration is
     * refused exactly when some route of another service, on a host that overlaps, is one it would
     * capture, as a comparison with every route of every service finds.
     */
    @Test
    void aRouteIsComparedWithEveryRouteOnAnOverlappingHostAndRefusedExactlyWhenOneIsCaptured() {
      List<String> hosts =
          List.of(
              "*",
              "example.com",
              "a.example.com",
              "b.example.com",
              "x.a.example.com",
              "*.example.com",
              "*.a.example.com",
              "other.org",
              "*.org");
      List<PathMatch> paths =
          List.of(
              PathMatch.prefix("/"),
              PathMatch.prefix("/users"),
              PathMatch.prefix("/users/admin"),
              PathMatch.exact("/users/admin"),
              PathMatch.regex("/users/[0-9]+"),
              PathMatch.prefix("/orders"),
              PathMatch.prefix("/a"),
              PathMatch.prefix("/b"),
              PathMatch.exact("/c"));
      java.util.Random random = new java.util.Random(13);
      java.util.Map<String, List<RouteSpec>> held = new java.util.HashMap<>();
      java.util.Map<String, String> leases = new java.util.HashMap<>();
      int refused = 0;
      int admitted = 0;
      for (int step = 0; step < 2_000; step++) {
        String service = "svc-" + random.nextInt(8);
        if (random.nextInt(3) == 0 && leases.containsKey(service)) {
          // Its only instance leaves, and its routes with it.
          store.deregister(leases.remove(service));
          held.remove(service);
          continue;
        }
        List<RouteSpec> routes = new java.util.ArrayList<>();
        for (int r = 1 + random.nextInt(2); r > 0; r--) {
          RouteSpec.Builder route = RouteSpec.builder(paths.get(random.nextInt(paths.size())));
          for (int h = random.nextInt(3); h > 0; h--) {
            String host = hosts.get(random.nextInt(hosts.size()));
            if (!host.equals("*")) {
              route.host(host);
            }
          }
          routes.add(route.build());
        }
        List<String> owners = new java.util.ArrayList<>();
        for (RouteSpec route : routes) {
          held.forEach(
              (other, otherRoutes) -> {
                for (RouteSpec existing : otherRoutes) {
                  if (!other.equals(service)
                      && RouteClaims.hostsOf(route).stream()
                          .anyMatch(
                              host ->
                                  RouteClaims.hostsOf(existing).stream()
                                      .anyMatch(e -> RouteClaims.hostsOverlap(host, e)))
                      && RouteClaims.captures(
                              route.match().path(), existing.match().path(), List.of())
                          .isPresent()) {
                    owners.add(other);
                  }
                }
              });
        }
        Registration registration =
            new Registration(
                service, Instance.of(service + "-1", "10.0.0.1", 8080), List.copyOf(routes));
        try {
          leases.put(service, store.register(registration, Optional.empty()).id());
          assertThat(owners).as("step %d: %s admitted", step, routes).isEmpty();
          admitted++;
          held.put(service, List.copyOf(routes));
        } catch (RouteConflictException e) {
          refused++;
          assertThat(owners).as("step %d: %s refused", step, routes).contains(e.owner());
        }
      }
      assertThat(List.of(admitted, refused)).as("admitted and refused").allMatch(n -> n >= 100);
    }

    @ParameterizedTest(name = "{0} and {1} overlap: {2}")
    @CsvSource({
      "*, api.example.com, true",
      "api.example.com, api.example.com, true",
      "*.example.com, api.example.com, true",
      "*.example.com, *.api.example.com, true",
      "*.example.com, example.com, false",
      "a.example.com, b.example.com, false",
      "*.example.com, *.example.org, false",
    })
    void hostsOverlapWhereEnvoyWouldServeBothOnOneRequest(String a, String b, boolean overlap) {
      assertThat(RouteClaims.hostsOverlap(a, b)).isEqualTo(overlap);
      assertThat(RouteClaims.hostsOverlap(b, a)).isEqualTo(overlap);
    }
  }
}
