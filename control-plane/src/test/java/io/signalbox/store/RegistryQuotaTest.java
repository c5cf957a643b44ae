package io.signalbox.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.Registration;
import io.signalbox.model.RegistryQuotas;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Nobody takes more of the registry than the operator allows: a registration beyond a quota is
 * refused naming the limit, and everything registered before stays as it was.
 */
class RegistryQuotaTest {

  private static final String ALICE = "spiffe://signalbox.local/team/alice";
  private final AtomicReference<RegistryQuotas> quotas =
      new AtomicReference<>(counts(3, 2, 2, 3, 2));
  private final InMemoryRegistryStore store =
      InMemoryRegistryStore.restore(
          LeasePolicy.DEFAULT,
          System::nanoTime,
          java.time.Clock.systemUTC(),
          RegistryJournal.NONE,
          Optional.empty(),
          quotas::get);

  /** Quotas on counts, with the default bounds on size. */
  private static RegistryQuotas counts(
      int services, int instances, int servicesPerIdentity, int instancesPerIdentity, int hosts) {
    return new RegistryQuotas(
        services,
        instances,
        servicesPerIdentity,
        instancesPerIdentity,
        hosts,
        RegistryQuotas.DEFAULT_MAX_REGISTRY_BYTES,
        RegistryQuotas.DEFAULT_MAX_PLACED_ROUTES);
  }

  private Lease register(String service, String instance, String registrant, String... hosts) {
    RouteSpec.Builder route = RouteSpec.builder(PathMatch.prefix("/" + service));
    for (String host : hosts) {
      route.host(host);
    }
    List<RouteSpec> routes = hosts.length == 0 ? List.of() : List.of(route.build());
    return store.register(
        new Registration(service, Instance.of(instance, "10.0.0.1", 8080), routes, registrant),
        Optional.empty());
  }

  private void assertRefused(Runnable registration, String message) {
    RegistryState before = store.state();
    assertThatThrownBy(registration::run)
        .isInstanceOf(QuotaExceededException.class)
        .hasMessage(message);
    assertThat(store.state()).isSameAs(before);
  }

  @Test
  void theRegistryHoldsAtMostMaxServices() {
    register("a", "a1", "");
    register("b", "b1", "");
    register("c", "c1", "");

    assertRefused(
        () -> register("d", "d1", ""),
        "limits.maxServices: the registry holds 3 services, the most it may; service 'd' cannot be added");
    register("c", "c2", "");
    assertThat(store.state().services()).containsOnlyKeys("a", "b", "c");
  }

  @Test
  void aServiceHasAtMostMaxInstancesPerServiceButMayRegisterThemAgain() {
    register("a", "a1", "");
    register("a", "a2", "");

    assertRefused(
        () -> register("a", "a3", ""),
        "limits.maxInstancesPerService: service 'a' has 2 instances, the most it may");
    register("a", "a2", "");
  }

  @Test
  void anIdentityRegistersAtMostItsQuotaOfServicesAndInstancesWhileOthersStillMay() {
    quotas.set(counts(100, 100, 2, 3, 100));
    register("a", "a1", ALICE);
    register("a", "a2", ALICE);
    register("b", "b1", ALICE);

    assertRefused(
        () -> register("b", "b2", ALICE),
        "limits.maxInstancesPerIdentity: identity '"
            + ALICE
            + "' has registered 3 instances, the most it may");
    quotas.set(counts(100, 100, 2, 100, 100));
    assertRefused(
        () -> register("c", "c1", ALICE),
        "limits.maxServicesPerIdentity: identity '"
            + ALICE
            + "' has registered instances of 2 services, the most "
            + "it may");
    register("c", "c1", "spiffe://signalbox.local/team/bob");
  }

  @Test
  void anInstanceThatLeavesGivesItsQuotaBack() {
    quotas.set(counts(100, 100, 100, 1, 100));
    Lease first = register("a", "a1", ALICE);
    store.deregister(first.id(), ALICE);

    register("a", "a2", ALICE);
  }

  @Test
  void theRegistrationsTogetherTakeAtMostMaxRegistryBytes() {
    Registration small = new Registration("a", Instance.of("a1", "10.0.0.1", 8080), List.of(), "");
    long size = small.approximateBytes();
    quotas.set(new RegistryQuotas(100, 100, 100, 100, 100, 3 * size, 1000));
    register("a", "a1", "");
    register("a", "a2", "");
    register("a", "a2", "");

    assertThatThrownBy(() -> register("a", "a3", "", "a.example.com"))
        .isInstanceOf(QuotaExceededException.class)
        .hasMessageStartingWith("limits.maxRegistryBytes: the registry holds about ");
  }

  @Test
  void routesWithoutHostsCannotMultiplyTheRouteConfigurationPastMaxPlacedRoutes() {
    quotas.set(new RegistryQuotas(100, 100, 100, 100, 100, 1L << 30, 12));
    register("a", "a1", "", "a.example.com");
    register("b", "b1", "", "b.example.com");
    for (String service : List.of("c", "d", "e")) {
      store.register(
          new Registration(
              service,
              Instance.of(service + "1", "10.0.0.1", 8080),
              List.of(RouteSpec.builder(PathMatch.prefix("/" + service)).build())),
          Optional.empty());
    }

    // Two host routes, and three any-host routes in each of 3 virtual hosts: 2 + 9 = 11 placed. A
    // fourth host would make 3 + 3 x 4 = 15.
    assertRefused(
        () -> register("f", "f1", "", "f.example.com"),
        "limits.maxPlacedRoutes: the route configuration would hold about 15 routes (3 without hosts,"
            + " placed in each of 4 virtual hosts); the most is 12");
  }

  @Test
  void routesNameAtMostMaxHostsVirtualHosts() {
    register("a", "a1", "", "a.example.com");
    register("b", "b1", "", "b.example.com", "a.example.com");

    assertRefused(
        () -> register("c", "c1", "", "c.example.com"),
        "limits.maxHosts: routes name 2 virtual hosts and this registration would add 1; the most is 2");
    register("c", "c1", "", "a.example.com");
  }
}
