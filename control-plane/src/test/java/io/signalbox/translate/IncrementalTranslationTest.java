package io.signalbox.translate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.signalbox.config.GatewayLimits;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.PolicyDefaults;
import io.signalbox.model.Instance;
import io.signalbox.model.PathMatch;
import io.signalbox.model.RateLimit;
import io.signalbox.model.RegistryState;
import io.signalbox.model.RouteSpec;
import io.signalbox.model.ServiceState;
import io.signalbox.model.TrafficPolicy;
import io.signalbox.model.UpstreamProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The translator works by difference: a change re-translates what it touches, every other resource
 * is the previous translation's object, and the result always equals a translation from scratch.
 */
class IncrementalTranslationTest {

  private static final GatewaySettings SETTINGS = GatewaySettings.plaintext("127.0.0.1", 10000);

  private final GatewayTranslator translator = new GatewayTranslator();

  @Test
  void anInstanceChangeMakesOnlyThatServicesAssignmentAnew() {
    SortedMap<String, ServiceState> services = registry(50);
    XdsResources before = translator.translate(new RegistryState(1, services), SETTINGS);

    services.put("svc-7", withInstances(services.get("svc-7"), 3));
    XdsResources after = translator.translate(new RegistryState(2, services), SETTINGS);

    assertThat(changedObjects(before.endpoints(), after.endpoints())).containsExactly("svc-svc-7");
    assertThat(after.clusters())
        .as("no cluster changed: the very list of the translation before, known unchanged at once")
        .isSameAs(before.clusters());
    assertThat(after.endpoints()).isNotSameAs(before.endpoints());
    assertThat(after.routes()).zipSatisfy(before.routes(), (a, b) -> assertThat(a).isSameAs(b));
    assertThat(after.listeners().get(0)).isSameAs(before.listeners().get(0));
    assertThat(after).isEqualTo(new GatewayTranslator().translate(state(2, services), SETTINGS));
  }

  @Test
  void aRouteChangeRendersOnlyTheChangedServicesRoutesAnew() {
    SortedMap<String, ServiceState> services = registry(50);
    XdsResources before = translator.translate(new RegistryState(1, services), SETTINGS);

    routeElsewhere(services, "svc-7", "/svc-7/v2");
    XdsResources after = translator.translate(new RegistryState(2, services), SETTINGS);

    java.util.Map<String, io.envoyproxy.envoy.config.route.v3.Route> beforeRoutes =
        routesByName(before);
    java.util.Map<String, io.envoyproxy.envoy.config.route.v3.Route> afterRoutes =
        routesByName(after);
    assertThat(afterRoutes).hasSameSizeAs(beforeRoutes);
    List<String> renderedAnew =
        afterRoutes.entrySet().stream()
            .filter(entry -> entry.getValue() != beforeRoutes.get(entry.getKey()))
            .map(java.util.Map.Entry::getKey)
            .toList();
    assertThat(renderedAnew).singleElement().asString().contains("svc-7");
    assertThat(after).isEqualTo(new GatewayTranslator().translate(state(2, services), SETTINGS));

    XdsResources otherSettings =
        translator.translate(new RegistryState(3, services), variants().get(0));
    assertThat(routesByName(otherSettings).values())
        .as("other settings: every route rendered anew")
        .allSatisfy(route -> assertThat(afterRoutes.values()).noneMatch(made -> made == route));
  }

  /** Gives the service one prefix route instead of its own, with the same instances. */
  private static void routeElsewhere(
      SortedMap<String, ServiceState> services, String name, String prefix) {
    services.put(
        name,
        new ServiceState(
            name,
            List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()),
            services.get(name).instances()));
  }

  /** Every route of the shared configuration's virtual hosts, by name. */
  private static java.util.Map<String, io.envoyproxy.envoy.config.route.v3.Route> routesByName(
      XdsResources resources) {
    java.util.Map<String, io.envoyproxy.envoy.config.route.v3.Route> routes =
        new java.util.HashMap<>();
    resources.routes().stream()
        .filter(config -> config.getName().equals(XdsNames.GATEWAY_ROUTES))
        .flatMap(config -> config.getVirtualHostsList().stream())
        .flatMap(host -> host.getRoutesList().stream())
        .forEach(route -> routes.put(route.getName(), route));
    return routes;
  }

  @Test
  void anInstanceReportingNotServingMakesOnlyItsAssignmentAnewWithTheInstanceUnhealthy() {
    SortedMap<String, ServiceState> services = registry(20);
    XdsResources before = translator.translate(new RegistryState(1, services), SETTINGS);

    ServiceState svc4 = services.get("svc-4");
    String instanceId = svc4.instances().get(0).id();
    services.put(
        "svc-4",
        new ServiceState(
            "svc-4",
            svc4.routes(),
            svc4.instances(),
            svc4.protocol(),
            svc4.traffic(),
            new java.util.TreeSet<>(List.of(instanceId))));
    XdsResources after = translator.translate(new RegistryState(2, services), SETTINGS);

    assertThat(changedObjects(before.endpoints(), after.endpoints())).containsExactly("svc-svc-4");
    ClusterLoadAssignment assignment =
        after.endpoints().stream()
            .filter(a -> a.getClusterName().equals("svc-svc-4"))
            .findFirst()
            .orElseThrow();
    assertThat(assignment.getEndpoints(0).getLbEndpoints(0).getHealthStatus())
        .isEqualTo(io.envoyproxy.envoy.config.core.v3.HealthStatus.UNHEALTHY);
    assertThat(after).isEqualTo(new GatewayTranslator().translate(state(2, services), SETTINGS));
  }

  @Test
  void aRouteChangeMakesTheRouteConfigurationAnewButNoOtherServicesResources() {
    SortedMap<String, ServiceState> services = registry(20);
    XdsResources before = translator.translate(new RegistryState(1, services), SETTINGS);

    routeElsewhere(services, "svc-3", "/svc-3/v2");
    XdsResources after = translator.translate(new RegistryState(2, services), SETTINGS);

    assertThat(after.routes().get(0)).isNotSameAs(before.routes().get(0));
    assertThat(after.clusters()).isSameAs(before.clusters());
    assertThat(after.endpoints()).isSameAs(before.endpoints());
    assertThat(after).isEqualTo(new GatewayTranslator().translate(state(2, services), SETTINGS));
  }

  @Test
  void aNewServiceAddsItsClusterAndAssignmentAndRoutes() {
    SortedMap<String, ServiceState> services = registry(5);
    XdsResources before = translator.translate(new RegistryState(1, services), SETTINGS);

    services.put("svc-new", service("svc-new", 1));
    XdsResources after = translator.translate(new RegistryState(2, services), SETTINGS);

    assertThat(after.clusters()).hasSize(before.clusters().size() + 1);
    assertThat(after.endpoints()).hasSize(before.endpoints().size() + 1);
    assertThat(after.routes().get(0)).isNotEqualTo(before.routes().get(0));
    assertThat(after).isEqualTo(new GatewayTranslator().translate(state(2, services), SETTINGS));
  }

  /**
   * Translates five services, then fails to translate them with svc-1 {@code changed} and svc-3
   * {@code broken} (its translation throws, after svc-1's), then translates them with svc-3 as it
   * was: the last translation.
   */
  private XdsResources afterAFailedTranslation(
      SortedMap<String, ServiceState> services,
      Function<ServiceState, ServiceState> changed,
      Function<ServiceState, ServiceState> broken) {
    translator.translate(new RegistryState(1, services), SETTINGS);
    ServiceState svc3 = services.get("svc-3");
    services.put("svc-1", changed.apply(services.get("svc-1")));
    services.put("svc-3", broken.apply(svc3));
    assertThatThrownBy(() -> translator.translate(new RegistryState(2, services), SETTINGS))
        .isInstanceOf(ArithmeticException.class);
    services.put("svc-3", svc3);
    return translator.translate(new RegistryState(3, services), SETTINGS);
  }

  @Test
  void aTranslationThatFailsHalfWayLeavesTheNextOneToStartFromScratch() {
    SortedMap<String, ServiceState> services = registry(5);

    // svc-1 gets a new cluster, then a service after it cannot be translated (an outlier interval
    // beyond what Envoy's durations hold): the translation fails after svc-1's new part was made.
    XdsResources after =
        afterAFailedTranslation(
            services,
            svc1 ->
                new ServiceState(
                    "svc-1",
                    svc1.routes(),
                    svc1.instances(),
                    UpstreamProtocol.HTTP2,
                    svc1.traffic()),
            svc3 ->
                new ServiceState(
                    "svc-3",
                    svc3.routes(),
                    svc3.instances(),
                    svc3.protocol(),
                    new TrafficPolicy(
                        TrafficPolicy.LoadBalancer.ROUND_ROBIN,
                        Optional.empty(),
                        Optional.empty(),
                        Optional.of(
                            new TrafficPolicy.OutlierDetection(
                                5,
                                Duration.ofSeconds(Long.MAX_VALUE),
                                Duration.ofSeconds(30),
                                50,
                                0)),
                        Optional.empty(),
                        Optional.empty(),
                        Optional.empty(),
                        false)));

    assertThat(after)
        .as("svc-1's new cluster is in the translation after the failed one")
        .isEqualTo(new GatewayTranslator().translate(state(3, services), SETTINGS));
  }

  @Test
  void aRouteConfigurationThatFailsHalfWayLeavesTheNextOneToStartFromScratch() {
    SortedMap<String, ServiceState> services = registry(5);

    // svc-1's route moves, then a route of svc-3 cannot be rendered (a timeout beyond what Envoy's
    // durations hold): the configuration fails after svc-1's new routes were placed.
    XdsResources after =
        afterAFailedTranslation(
            services,
            svc1 ->
                new ServiceState(
                    "svc-1",
                    List.of(RouteSpec.builder(PathMatch.prefix("/moved")).build()),
                    svc1.instances()),
            svc3 ->
                new ServiceState(
                    "svc-3",
                    List.of(
                        RouteSpec.builder(PathMatch.prefix("/svc-3"))
                            .timeout(Duration.ofSeconds(Long.MAX_VALUE))
                            .build()),
                    svc3.instances()));

    assertThat(after.routes())
        .as("svc-1's moved route is in the configuration after the failed one")
        .isEqualTo(new GatewayTranslator().translate(state(3, services), SETTINGS).routes());
  }

  @Test
  void newSettingsTranslateEverythingAgain() {
    SortedMap<String, ServiceState> services = registry(5);
    XdsResources before = translator.translate(new RegistryState(1, services), SETTINGS);

    for (GatewaySettings changed : variants()) {
      XdsResources after = translator.translate(new RegistryState(1, services), changed);

      assertThat(after).isNotEqualTo(before);
      assertThat(after).isEqualTo(new GatewayTranslator().translate(state(1, services), changed));
    }
  }

  /**
   * Settings that each change another part: the listeners (port), every service's cluster (connect
   * timeout), every route (a default rate limit).
   */
  /** The rate-limit service's cluster in the list of the services' clusters, and a JWT filter. */
  private static final GatewaySettings WITH_FILTER_CLUSTERS =
      SETTINGS.toBuilder()
          .jwtProvider(io.signalbox.config.TestJwtProviders.corp())
          .rateLimitService(
              new io.signalbox.config.RateLimitServiceSpec(
                  Optional.of(
                      new io.signalbox.config.RateLimitServiceSpec.HostAndPort("10.1.2.3", 8081)),
                  Duration.ofMillis(30)))
          .build();

  private static List<GatewaySettings> variants() {
    GatewayLimits limits = SETTINGS.limits();
    return List.of(
        GatewaySettings.plaintext("127.0.0.1", 10001),
        SETTINGS.toBuilder()
            .limits(
                new GatewayLimits(
                    limits.maxRoutesPerService(),
                    limits.maxRequestHeadersKb(),
                    Duration.ofSeconds(7),
                    limits.maxRegexProgramSize(),
                    limits.registry()))
            .build(),
        SETTINGS.toBuilder()
            .defaults(
                new PolicyDefaults(
                    Optional.empty(),
                    Optional.of(RateLimit.local(10, RateLimit.Unit.SECOND)),
                    RateLimit.FailureMode.ALLOW))
            .build());
  }

  /** Endpoints in the Envoy's own zone first: the service's cluster is named to the snapshot. */
  private static final TrafficPolicy LOCAL_ZONE =
      new TrafficPolicy(
          TrafficPolicy.LoadBalancer.ROUND_ROBIN,
          java.util.Optional.empty(),
          java.util.Optional.empty(),
          java.util.Optional.empty(),
          java.util.Optional.empty(),
          java.util.Optional.empty(),
          java.util.Optional.empty(),
          true);

  private static final List<TrafficPolicy> TRAFFIC =
      List.of(
          TrafficPolicy.DEFAULT,
          new TrafficPolicy(
              TrafficPolicy.LoadBalancer.LEAST_REQUEST,
              java.util.Optional.empty(),
              java.util.Optional.of(new TrafficPolicy.CircuitBreaker(10, 0, 0, 0)),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              false),
          new TrafficPolicy(
              TrafficPolicy.LoadBalancer.RING_HASH,
              java.util.Optional.of(
                  new TrafficPolicy.HashOn(TrafficPolicy.HashOn.Kind.HEADER, "x-user")),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              false),
          new TrafficPolicy(
              TrafficPolicy.LoadBalancer.RING_HASH,
              java.util.Optional.of(
                  new TrafficPolicy.HashOn(TrafficPolicy.HashOn.Kind.COOKIE, "session")),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              false),
          new TrafficPolicy(
              TrafficPolicy.LoadBalancer.ROUND_ROBIN,
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              java.util.Optional.of(
                  new TrafficPolicy.VersionSplit(
                      List.of(
                          new TrafficPolicy.VersionWeight("v1", 90),
                          new TrafficPolicy.VersionWeight("v2", 10)),
                      List.of(TrafficPolicy.VersionPin.header("x-canary", "1", "v2")))),
              java.util.Optional.empty(),
              java.util.Optional.empty(),
              false),
          LOCAL_ZONE,
          TrafficPolicy.DEFAULT.withTls(
              java.util.Optional.of(
                  new TrafficPolicy.UpstreamTls(
                      "orders.internal",
                      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                      List.of(),
                      java.util.Optional.of("gateway")))));

  @Test
  void randomChangesAlwaysTranslateAsFromScratch() {
    Random random = new Random(13);
    SortedMap<String, ServiceState> services = registry(10);
    GatewaySettings settings = SETTINGS;
    for (int step = 0; step < 400; step++) {
      String name = "svc-" + random.nextInt(15);
      ServiceState current = services.get(name);
      switch (random.nextInt(10)) {
        case 0 -> services.remove(name);
        case 1 -> services.put(name, service(name, 1 + random.nextInt(3)));
        case 2 -> {
          if (current != null) {
            services.put(name, withInstances(current, 1 + random.nextInt(4)));
          }
        }
        case 3 -> {
          if (current != null) {
            String prefix = "/" + name + "/" + random.nextInt(3);
            services.put(
                name,
                new ServiceState(
                    name,
                    List.of(
                        RouteSpec.builder(PathMatch.prefix(prefix))
                            .rateLimit(
                                io.signalbox.model.RateLimit.local(
                                    1 + random.nextInt(5),
                                    io.signalbox.model.RateLimit.Unit.MINUTE))
                            .build()),
                    current.instances()));
          }
        }
        case 4 -> {
          if (current != null) {
            // An equal but new state object, as the store makes on a renewal that changes nothing.
            services.put(name, new ServiceState(name, current.routes(), current.instances()));
          }
        }
        case 5 -> {
          if (current != null) {
            // The newest registration speaks another protocol: the cluster changes, not the rest.
            UpstreamProtocol[] protocols = UpstreamProtocol.values();
            services.put(
                name,
                new ServiceState(
                    name,
                    current.routes(),
                    current.instances(),
                    protocols[random.nextInt(protocols.length)]));
          }
        }
        case 6 -> {
          if (current != null) {
            // Another traffic policy: a hash key changes the routes, the balancer the cluster.
            services.put(
                name,
                new ServiceState(
                    name,
                    current.routes(),
                    current.instances(),
                    current.protocol(),
                    TRAFFIC.get(random.nextInt(TRAFFIC.size()))));
          }
        }
        case 7 -> {
          if (current != null) {
            // Every instance behind a sidecar, or not: where the routes' policies are enforced
            // (PolicyPlacement) moves, so the routes change with the instances.
            services.put(name, withSidecars(current, random.nextBoolean()));
          }
        }
        case 8 -> {
          if (current != null) {
            // Routes on hosts, wildcards and none, on paths other services may use too: the
            // virtual hosts each route is copied into, and their order, move with them.
            List<String> hosts =
                List.of("a.example.com", "*.example.com", "b.a.example.com", "*.a.example.com");
            List<RouteSpec> routes = new ArrayList<>();
            for (int r = random.nextInt(3); r >= 0; r--) {
              List<String> on = new ArrayList<>();
              for (String host : hosts) {
                if (random.nextInt(3) == 0) {
                  on.add(host);
                }
              }
              String path = random.nextBoolean() ? "/shared/" + random.nextInt(3) : "/" + name;
              RouteSpec.Builder route =
                  RouteSpec.builder(
                      random.nextBoolean() ? PathMatch.prefix(path) : PathMatch.exact(path));
              on.forEach(route::host);
              routes.add(route.build());
            }
            services.put(name, new ServiceState(name, routes, current.instances()));
          }
        }
        default ->
            settings =
                random.nextInt(10) != 0
                    ? settings
                    : random.nextInt(4) == 0
                        ? SETTINGS
                        : random.nextInt(4) == 0
                            ? WITH_FILTER_CLUSTERS
                            : variants().get(random.nextInt(variants().size()));
      }
      XdsResources incremental = translator.translate(state(step, services), settings);
      XdsResources scratch = new GatewayTranslator().translate(state(step, services), settings);
      assertThat(incremental).as("step %d", step).isEqualTo(scratch);
    }
  }

  @Test
  void theRegistrysStatesTranslateAsFromScratchForwardAndBack() {
    // States of a store carry its change log, which names the services that differ between two of
    // them; a quarantine's trial translates an earlier state between two of the pipeline's.
    io.signalbox.store.InMemoryRegistryStore store =
        new io.signalbox.store.InMemoryRegistryStore(
            io.signalbox.store.LeasePolicy.DEFAULT, () -> 0L);
    Random random = new Random(7);
    List<RegistryState> states = new ArrayList<>();
    java.util.Map<String, String> leases = new java.util.HashMap<>();
    for (int step = 0; step < 300; step++) {
      String service = "svc-" + random.nextInt(12);
      String id = service + "-" + random.nextInt(3);
      if (random.nextInt(4) == 0) {
        String lease = leases.remove(id);
        if (lease != null) {
          store.deregister(lease);
        }
      } else {
        String prefix = "/" + service + (random.nextBoolean() ? "" : "/v2");
        io.signalbox.model.Registration registration =
            new io.signalbox.model.Registration(
                    service,
                    Instance.of(id, "10.0.0." + (1 + random.nextInt(200)), 8080),
                    List.of(RouteSpec.builder(PathMatch.prefix(prefix)).build()))
                .withTraffic(random.nextBoolean() ? TrafficPolicy.DEFAULT : LOCAL_ZONE);
        leases.put(id, store.register(registration, Optional.empty()).id());
      }
      states.add(store.state());
      RegistryState state =
          random.nextInt(8) == 0 ? states.get(random.nextInt(states.size())) : store.state();

      assertThat(translator.translate(state, WITH_FILTER_CLUSTERS))
          .as("step %d", step)
          .isEqualTo(new GatewayTranslator().translate(state, WITH_FILTER_CLUSTERS));
    }
  }

  /** The names of resources that are not the same object before and after. */
  private static List<String> changedObjects(
      List<ClusterLoadAssignment> before, List<ClusterLoadAssignment> after) {
    List<String> changed = new ArrayList<>();
    for (ClusterLoadAssignment assignment : after) {
      boolean same = before.stream().anyMatch(b -> b == assignment);
      if (!same) {
        changed.add(assignment.getClusterName());
      }
    }
    return changed;
  }

  private static RegistryState state(long revision, SortedMap<String, ServiceState> services) {
    return new RegistryState(revision, services);
  }

  private static SortedMap<String, ServiceState> registry(int count) {
    SortedMap<String, ServiceState> services = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      services.put("svc-" + i, service("svc-" + i, 1));
    }
    return services;
  }

  private static ServiceState service(String name, int instances) {
    return withInstances(
        new ServiceState(
            name, List.of(RouteSpec.builder(PathMatch.prefix("/" + name)).build()), List.of()),
        instances);
  }

  private static ServiceState withSidecars(ServiceState service, boolean everyInstance) {
    List<Instance> instances = new ArrayList<>();
    for (Instance instance : service.instances()) {
      boolean sidecar = everyInstance || instances.size() > 0;
      instances.add(
          new Instance(
              instance.id(),
              instance.host(),
              instance.address(),
              instance.port(),
              instance.zone(),
              instance.weight(),
              instance.metadata(),
              sidecar ? 15000 + instances.size() : 0));
    }
    return new ServiceState(service.name(), service.routes(), instances);
  }

  private static ServiceState withInstances(ServiceState service, int count) {
    List<Instance> instances = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      instances.add(Instance.of(service.name() + "-" + i, "10.0.0." + (i + 1), 8080 + i));
    }
    return new ServiceState(service.name(), service.routes(), instances);
  }
}
