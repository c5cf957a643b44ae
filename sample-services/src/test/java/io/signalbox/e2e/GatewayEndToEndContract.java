package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.signalbox.client.Registration;
import io.signalbox.client.Routes;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a service and its callers see through a real Envoy. Each test uses its own service names, so
 * one control plane and one Envoy serve the whole class; subclasses run it over state-of-the-world
 * and delta xDS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(EnvoyLogsOnFailure.class)
abstract class GatewayEndToEndContract {

  private static final Duration PROPAGATION = Duration.ofSeconds(5);
  private static final AtomicInteger NAMES = new AtomicInteger();

  private GatewayFixture gateway;

  abstract EnvoyProcess.XdsMode mode();

  /** What the Envoy is started with besides the mode. */
  UnaryOperator<EnvoyProcess.Builder> envoyOptions() {
    return envoy -> envoy;
  }

  @BeforeAll
  void startGateway() {
    gateway = GatewayFixture.startWithEnvoy(mode(), envoyOptions());
  }

  @AfterAll
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /**
   * Envoy's node lists the extensions it was built with (516 at 1.40, 61 KB): kept for each stream,
   * they took some 190 KB of heap per Envoy, and nothing reads them.
   */
  @Test
  void theNodeKeptOfAConnectedEnvoyHasItsNameAndVersionButNotItsListOfExtensions() {
    await()
        .atMost(PROPAGATION)
        .until(() -> !gateway.controlPlane().xdsCallbacks().proxies().proxies().isEmpty());

    assertThat(gateway.controlPlane().xdsCallbacks().proxies().proxies())
        .allSatisfy(
            envoy -> {
              assertThat(envoy.node().getUserAgentName()).isEqualTo("envoy");
              assertThat(envoy.node().hasUserAgentBuildVersion()).isTrue();
              assertThat(envoy.node().getExtensionsCount()).isZero();
            });
  }

  @Test
  void aRegisteredServiceAnswersThroughEnvoy() {
    String service = uniqueName("orders");
    gateway.serve(service, service + "-1", Routes.prefix("/" + service));

    HttpProbe.Response response =
        HttpProbe.awaitStatus(gateway.url("/" + service + "/42"), 200, PROPAGATION);

    assertThat(response.body())
        .contains("\"service\":\"" + service + "\"")
        .contains("\"path\":\"/" + service + "/42\"");
  }

  @Test
  void everyInstanceOfAServiceReceivesTraffic() {
    String service = uniqueName("users");
    for (int i = 1; i <= 3; i++) {
      gateway.serve(service, service + "-" + i, Routes.prefix("/" + service));
    }

    Set<String> answered = new HashSet<>();
    await()
        .atMost(PROPAGATION)
        .untilAsserted(
            () -> {
              HttpProbe.Response response = HttpProbe.get(gateway.url("/" + service));
              if (response.status() == 200) {
                response.headers().firstValue(EchoService.INSTANCE_HEADER).ifPresent(answered::add);
              }
              assertThat(answered)
                  .containsExactlyInAnyOrder(service + "-1", service + "-2", service + "-3");
            });
  }

  /**
   * A changed cluster is made anew in Envoy and serves only once it has its endpoints again, which
   * did not change: an Envoy that were not sent them would keep the old cluster until its 15 s
   * fetch timeout, then take the new one with no endpoints at all.
   */
  @Test
  void aServiceWhoseClusterChangesKeepsAnsweringAndEnvoyTakesTheNewClusterAtOnce() {
    String service = uniqueName("ledger");
    EchoService backend = gateway.backend(service, service + "-1");
    gateway.register(withMaxRequests(service, backend.port(), 100));
    HttpProbe.awaitStatus(gateway.url("/" + service), 200, PROPAGATION);

    gateway.register(withMaxRequests(service, backend.port(), 200));

    List<Integer> statuses = new java.util.ArrayList<>();
    await()
        .atMost(PROPAGATION)
        .untilAsserted(
            () -> {
              statuses.add(HttpProbe.get(gateway.url("/" + service)).status());
              assertThat(gateway.envoy().adminGet("/clusters"))
                  .contains("svc-" + service + "::default_priority::max_requests::200");
              assertThat(gateway.envoy().statValue("cluster_manager.warming_clusters")).isZero();
            });
    assertThat(HttpProbe.get(gateway.url("/" + service)).status()).isEqualTo(200);
    assertThat(statuses).containsOnly(200);
  }

  private static io.signalbox.client.ServiceRegistration withMaxRequests(
      String service, int port, int maxRequests) {
    return io.signalbox.client.ServiceRegistration.builder(service)
        .instance(service + "-1", "127.0.0.1", port)
        .route(Routes.prefix("/" + service))
        .traffic(
            io.signalbox.registry.v1.TrafficPolicy.newBuilder()
                .setCircuitBreaker(
                    io.signalbox.registry.v1.CircuitBreaker.newBuilder()
                        .setMaxRequests(maxRequests))
                .build())
        .build();
  }

  @Test
  void aDeregisteredServiceIsNoLongerRouted() {
    String service = uniqueName("billing");
    Registration registration =
        gateway.serve(service, service + "-1", Routes.prefix("/" + service));
    HttpProbe.awaitStatus(gateway.url("/" + service), 200, PROPAGATION);

    registration.close();

    // No route matches any more: Envoy answers 404 itself (the route and the cluster are both
    // removed).
    HttpProbe.awaitStatus(gateway.url("/" + service), 404, PROPAGATION);
  }

  @Test
  void anInstanceThatStopsRenewingStopsReceivingTrafficWithinTtlPlusOneSecond() {
    String service = uniqueName("inventory");
    gateway.serve(service, service + "-steady", Routes.prefix("/" + service));
    // The doomed instance registers once and never renews, like a process killed with SIGKILL.
    EchoService doomed = gateway.backend(service, service + "-doomed");
    Duration ttl = Duration.ofSeconds(1);
    gateway
        .registryStub()
        .register(
            RegisterRequest.newBuilder()
                .setService(service)
                .setInstance(
                    Instance.newBuilder()
                        .setId(service + "-doomed")
                        .setHost("127.0.0.1")
                        .setPort(doomed.port()))
                .addRoutes(
                    Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service)))
                .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(ttl.getSeconds()))
                .build());
    long registeredAt = System.nanoTime();
    awaitInstances(service, Set.of(service + "-steady", service + "-doomed"));
    doomed.close();

    long deadline = registeredAt + ttl.plusSeconds(1).toNanos();
    await().atMost(ttl.plusSeconds(2)).until(() -> allOf(service, 10, service + "-steady"));
    assertThat(System.nanoTime())
        .as("traffic left the expired instance within TTL + 1 s")
        .isLessThanOrEqualTo(deadline);
  }

  @Test
  void fiftyServicesRegisteringConcurrentlyAreAllRoutable() throws Exception {
    String prefix = uniqueName("fleet");
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<Registration>> registrations =
          IntStream.range(0, 50)
              .mapToObj(
                  i ->
                      pool.submit(
                          () ->
                              gateway.serve(
                                  prefix + "-" + i,
                                  prefix + "-" + i + "-a",
                                  Routes.prefix("/" + prefix + "-" + i))))
              .toList();
      for (Future<Registration> registration : registrations) {
        registration.get();
      }
    } finally {
      pool.shutdown();
    }

    for (int i = 0; i < 50; i++) {
      HttpProbe.Response response =
          HttpProbe.awaitStatus(gateway.url("/" + prefix + "-" + i), 200, PROPAGATION);
      assertThat(response.body()).contains("\"service\":\"" + prefix + "-" + i + "\"");
    }
  }

  @Test
  void twoEnvoysOfOneGroupAreSentTheSameConfiguration() {
    String service = uniqueName("catalog");
    gateway.serve(service, service + "-1", Routes.prefix("/" + service));
    HttpProbe.awaitStatus(gateway.url("/" + service), 200, PROPAGATION);

    try (EnvoyProcess second = gateway.startEnvoy("edge-2-" + service)) {
      second.awaitReady();
      await()
          .atMost(PROPAGATION)
          .untilAsserted(
              () ->
                  assertThat(ConfigDumps.resources(second.configDump()))
                      .isEqualTo(ConfigDumps.resources(gateway.envoy().configDump()))
                      .containsKey("svc-" + service));
    }
  }

  @Test
  void anInvalidRegistrationIsRejectedAndEveryOtherServiceKeepsServing() {
    String prefix = uniqueName("good");
    for (int i = 0; i < 20; i++) {
      gateway.serve(
          prefix + "-" + i, prefix + "-" + i + "-a", Routes.prefix("/" + prefix + "-" + i));
    }
    for (int i = 0; i < 20; i++) {
      HttpProbe.awaitStatus(gateway.url("/" + prefix + "-" + i), 200, PROPAGATION);
    }

    RegisterRequest bad =
        RegisterRequest.newBuilder()
            .setService(uniqueName("bad"))
            .setInstance(Instance.newBuilder().setId("bad-1").setHost("127.0.0.1").setPort(8080))
            .addRoutes(
                Route.newBuilder().setPath(PathMatch.newBuilder().setRegex("/bad/(unclosed")))
            .build();
    assertThatThrownBy(() -> gateway.registryStub().register(bad))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).startsWith("routes[0].path.regex:");
            });

    for (int i = 0; i < 20; i++) {
      assertThat(HttpProbe.get(gateway.url("/" + prefix + "-" + i)).status()).isEqualTo(200);
    }
  }

  @Test
  void aRegexThatWouldCostGigabytesToCompileIsRefusedAtOnceAndNothingElseChanges() {
    String bystander = uniqueName("bystander");
    gateway.serve(bystander, bystander + "-1", Routes.prefix("/" + bystander));
    HttpProbe.awaitStatus(gateway.url("/" + bystander), 200, PROPAGATION);
    RegisterRequest hostile =
        RegisterRequest.newBuilder()
            .setService(uniqueName("hostile"))
            .setInstance(
                Instance.newBuilder().setId("hostile-1").setHost("127.0.0.1").setPort(8080))
            .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/hostile")))
            .addRoutes(
                Route.newBuilder()
                    .setPath(PathMatch.newBuilder().setRegex("/hostile/((a{1000}){1000}){1000}")))
            .build();

    // The stub's deadline is 5 s; before regexes were priced, this call never answered and the
    // process grew to GBs. The control plane runs in this JVM: its heap must not move.
    long heapBefore = usedHeapAfterGc();
    assertThatThrownBy(() -> gateway.registryStub().register(hostile))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription())
                  .startsWith("routes[1].path.regex: ")
                  .contains("RE2 instructions; Envoy accepts at most 100");
            });
    assertThat(usedHeapAfterGc() - heapBefore).as("heap growth in bytes").isLessThan(32L << 20);
    // A marker registered after the refusal reaches Envoy only once everything before it has.
    String marker = uniqueName("after-hostile");
    gateway.serve(marker, marker + "-1", Routes.prefix("/" + marker));
    HttpProbe.awaitStatus(gateway.url("/" + marker), 200, PROPAGATION);
    assertThat(HttpProbe.get(gateway.url("/hostile")).status()).isEqualTo(404);
    assertThat(HttpProbe.get(gateway.url("/" + bystander)).status()).isEqualTo(200);
  }

  private static long usedHeapAfterGc() {
    System.gc();
    Runtime runtime = Runtime.getRuntime();
    return runtime.totalMemory() - runtime.freeMemory();
  }

  @Test
  void aRouteOwnedByAnotherServiceIsRefusedNamingTheOwner() {
    String owner = uniqueName("owner");
    gateway.serve(owner, owner + "-1", Routes.prefix("/" + owner));
    HttpProbe.awaitStatus(gateway.url("/" + owner), 200, PROPAGATION);

    RegisterRequest thief =
        RegisterRequest.newBuilder()
            .setService(uniqueName("thief"))
            .setInstance(Instance.newBuilder().setId("thief-1").setHost("127.0.0.1").setPort(8080))
            .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + owner)))
            .build();

    assertThatThrownBy(() -> gateway.registryStub().register(thief))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
              assertThat(e.getStatus().getDescription()).contains("'" + owner + "'");
            });
    assertThat(HttpProbe.get(gateway.url("/" + owner)).body())
        .contains("\"service\":\"" + owner + "\"");
  }

  @Test
  void noOtherServiceCanCaptureRequestsOfARouteAndItsOwnerKeepsAnswering() {
    String owner = uniqueName("users");
    gateway.serve(owner, owner + "-1", Routes.prefix("/" + owner));
    HttpProbe.awaitStatus(gateway.url("/" + owner + "/1"), 200, PROPAGATION);
    // "/.*" would reach every service of this shared gateway; "/<owner>.*" reaches the owner's
    // only.
    List<Route.Builder> attempts =
        List.of(
            Route.newBuilder().setPath(PathMatch.newBuilder().setRegex("/.*")),
            Route.newBuilder().setPath(PathMatch.newBuilder().setRegex("/" + owner + ".*")),
            Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + owner + "/admin")),
            Route.newBuilder()
                .setPath(PathMatch.newBuilder().setPrefix("/" + owner))
                .addHosts("127.0.0.1"),
            Route.newBuilder()
                .setPath(PathMatch.newBuilder().setPrefix("/" + owner))
                .addHeaders(
                    io.signalbox.registry.v1.HeaderMatch.newBuilder()
                        .setName("x-canary")
                        .setExact("1")),
            Route.newBuilder().setPath(PathMatch.newBuilder().setExact("/" + owner + "/1")));
    EchoService attacker = gateway.backend(uniqueName("attacker"), "attacker-1");

    for (Route.Builder attempt : attempts) {
      RegisterRequest capture =
          RegisterRequest.newBuilder()
              .setService(uniqueName("attacker"))
              .setInstance(
                  Instance.newBuilder()
                      .setId("attacker-1")
                      .setHost("127.0.0.1")
                      .setPort(attacker.port()))
              .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/")))
              .addRoutes(attempt)
              .build();

      assertThatThrownBy(() -> gateway.registryStub().register(capture))
          .as("capture attempt %s", attempt)
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
                assertThat(e.getStatus().getDescription())
                    .contains(
                        attempt.getPath().getRegex().equals("/.*")
                            ? "would take requests of service '"
                            : "would take requests of service '"
                                + owner
                                + "' (its route host=* prefix /"
                                + owner
                                + ")");
              });
      for (String path : List.of("/" + owner, "/" + owner + "/1", "/" + owner + "/admin")) {
        HttpProbe.Response answer =
            HttpProbe.get(gateway.url(path), java.util.Map.of("x-canary", "1"));
        assertThat(answer.status()).as("GET %s after %s", path, attempt).isEqualTo(200);
        assertThat(answer.body()).contains("\"service\":\"" + owner + "\"");
      }
    }
  }

  private void awaitInstances(String service, Set<String> instances) {
    Set<String> answered = new HashSet<>();
    await()
        .atMost(PROPAGATION)
        .untilAsserted(
            () -> {
              HttpProbe.get(gateway.url("/" + service))
                  .headers()
                  .firstValue(EchoService.INSTANCE_HEADER)
                  .ifPresent(answered::add);
              assertThat(answered).containsAll(instances);
            });
  }

  /** True when {@code count} requests in a row are answered 200 by {@code instance}. */
  private boolean allOf(String service, int count, String instance) {
    for (int i = 0; i < count; i++) {
      HttpProbe.Response response = HttpProbe.get(gateway.url("/" + service));
      if (response.status() != 200
          || !instance.equals(
              response.headers().firstValue(EchoService.INSTANCE_HEADER).orElse(""))) {
        return false;
      }
    }
    return true;
  }

  private static String uniqueName(String base) {
    return base + "-" + NAMES.incrementAndGet();
  }
}
