package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.Registration;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.SidecarSettings;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoadLoop;
import io.signalbox.xds.ProxyStatusTracker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Make-before-break under churn, through real Envoy: while a bounded load loop runs against
 * services that always have a live instance, instances of one of them come and go and whole
 * services are registered and deregistered. No request to a route with a live instance may fail, a
 * new service's route goes from 404 straight to 200, and a removed one from 200 straight to 404
 * (never 503: a route is never sent before its cluster, and a cluster is never removed before the
 * route that used it).
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class MakeBeforeBreakEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);
  private static final int CHURN_ROUNDS = 6;

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void noRequestFailsWhileInstancesAndServicesComeAndGo(EnvoyProcess.XdsMode mode)
      throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(mode)) {
      gateway.serve("steady", "steady-1", Routes.prefix("/steady"));
      Deque<Instance> stable = new ArrayDeque<>();
      stable.add(startInstance(gateway, "stable-0"));
      HttpProbe.awaitStatus(gateway.url("/steady"), 200, REACHES_ENVOY);
      HttpProbe.awaitStatus(gateway.url("/stable"), 200, REACHES_ENVOY);

      LoadLoop load =
          LoadLoop.start(
              "load", List.of(gateway.url("/steady/x"), gateway.url("/stable/x")), Duration.ZERO);
      List<String> transitions = new ArrayList<>();
      try {
        for (int round = 1; round <= CHURN_ROUNDS; round++) {
          // An instance of "stable" joins, then the oldest leaves: deregistered first, stopped once
          // Envoy knows.
          stable.add(startInstance(gateway, "stable-" + round));
          Thread.sleep(200);
          Instance leaving = stable.removeFirst();
          leaving.registration().close();
          Thread.sleep(500);
          leaving.backend().close();

          // A whole service comes and goes.
          transitions.addAll(
              comesAndGoes(
                  gateway,
                  "flux-" + round,
                  service -> HttpProbe.get(gateway.url("/" + service)).status()));
        }
      } finally {
        load.stop();
      }

      Map<Integer, Long> statuses = load.statuses();
      long sent = load.sent();
      System.out.printf(
          "make-before-break (%s): %d requests to live routes, statuses %s%n",
          mode, sent, statuses);
      assertThat(sent).as("the load loop ran").isGreaterThan(100);
      assertThat(statuses)
          .as("statuses of requests to routes with a live instance throughout")
          .containsOnlyKeys(200);
      assertThat(transitions)
          .as("status sequences of services coming and going")
          .allSatisfy(MakeBeforeBreakEndToEndTest::neverAnError);
    }
  }

  /**
   * The first service of a fresh gateway brings Envoy's first EDS cluster: Envoy has asked for no
   * endpoints yet, so nothing it asked for can show the cluster made, and the routes must still not
   * overtake it.
   */
  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void theFirstServiceOfAFreshGatewayGoesFrom404StraightTo200(EnvoyProcess.XdsMode mode)
      throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(mode)) {
      assertThat(
              comesAndGoes(
                  gateway, "first", service -> HttpProbe.get(gateway.url("/" + service)).status()))
          .allSatisfy(MakeBeforeBreakEndToEndTest::neverAnError);
    }
  }

  /**
   * Envoys that never read their responses (hung, paused, half-open), one in the gateway's node
   * group and one in another, set the pace for nobody: with a stage timeout far beyond the time a
   * change may take here, new services still go from 404 straight to 200 within a second and
   * removed ones straight to 404, and nothing else fails.
   */
  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void envoysThatDoNotReadHoldNobodyBack(EnvoyProcess.XdsMode mode) throws Exception {
    try (GatewayFixture gateway =
        GatewayFixture.start(mode, config -> config.stageTimeout(Duration.ofSeconds(30)))) {
      boolean delta = mode == EnvoyProcess.XdsMode.DELTA;
      int xdsPort = gateway.controlPlane().grpcPort();
      try (FakeAdsClient sameGroup =
              FakeAdsClient.neverReading(
                  xdsPort, FakeAdsClient.node("hung-same-group", GatewayFixture.GROUP), delta);
          FakeAdsClient otherGroup =
              FakeAdsClient.neverReading(
                  xdsPort, FakeAdsClient.node("hung-other-group", "other-group"), delta)) {
        gateway.serve("steady", "steady-1", Routes.prefix("/steady"));
        HttpProbe.awaitStatus(gateway.url("/steady"), 200, REACHES_ENVOY);
        LoadLoop load = LoadLoop.start("load", List.of(gateway.url("/steady/x")), Duration.ZERO);
        List<String> transitions = new ArrayList<>();
        try {
          for (int round = 1; round <= 3; round++) {
            String service = "flux-" + round;
            EchoService backend = gateway.backend(service, service + "-1");
            long started = System.nanoTime();
            Registration registration =
                gateway.register(
                    ServiceRegistration.builder(service)
                        .instance(service + "-1", "127.0.0.1", backend.port())
                        .route(Routes.prefix("/" + service))
                        .build());
            StatusOf viaEdge = name -> HttpProbe.get(gateway.url("/" + name)).status();
            transitions.add(service + " up: " + statusesUntil(service, viaEdge, 200));
            long upMillis = (System.nanoTime() - started) / 1_000_000;
            registration.close();
            transitions.add(service + " down: " + statusesUntil(service, viaEdge, 404));
            System.out.printf(
                "hung Envoys (%s): %s answered 200 after %d ms%n", mode, service, upMillis);
            assertThat(upMillis)
                .as("register -> 200 (a stage waiting for the hung Envoys takes 30 s)")
                .isLessThan(5_000);
          }
        } finally {
          load.stop();
        }
        assertThat(load.statuses()).as("statuses of the steady route").containsOnlyKeys(200);
        assertThat(transitions).allSatisfy(MakeBeforeBreakEndToEndTest::neverAnError);
        assertThat(gateway.controlPlane().xdsCallbacks().proxies().proxies())
            .filteredOn(proxy -> proxy.nodeId().startsWith("hung-"))
            .as("the hung Envoys are shown lagging")
            .hasSize(2)
            .allMatch(ProxyStatusTracker.ProxyStatus::lagging);
      }
    }
  }

  /**
   * A sidecar's outbound routes are staged like the edge's: a service that registers goes from 404
   * straight to 200 for an application calling it through its sidecar, and one that leaves from 200
   * straight to 404 (its virtual host is gone before its cluster).
   */
  @Test
  void aSidecarCallsServicesThatComeAndGoWithoutA503() throws Exception {
    int outbound = FreePorts.allocate();
    try (GatewayFixture gateway =
        GatewayFixture.startWithSidecars(
            new SidecarSettings("127.0.0.1", outbound, Duration.ofHours(1), Map.of()))) {
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      EnvoyProcess ordersSidecar = gateway.startSidecar("orders");
      ordersSidecar.awaitReady();
      List<String> transitions = new ArrayList<>();
      for (int round = 1; round <= 4; round++) {
        transitions.addAll(
            comesAndGoes(
                gateway,
                "flux-" + round,
                service -> Http1ResponseReader.get(outbound, service, "/hello").status()));
      }
      System.out.printf("make-before-break (sidecar): %s%n", transitions);
      assertThat(transitions)
          .as("status sequences through orders' sidecar of services coming and going")
          .allSatisfy(MakeBeforeBreakEndToEndTest::neverAnError);
    }
  }

  private record Instance(EchoService backend, Registration registration) {}

  private static Instance startInstance(GatewayFixture gateway, String id) {
    EchoService backend = gateway.backend("stable", id);
    Registration registration =
        gateway.register(
            ServiceRegistration.builder("stable")
                .instance(id, "127.0.0.1", backend.port())
                .route(Routes.prefix("/stable"))
                .build());
    return new Instance(backend, registration);
  }

  /** A route comes and goes between 404 and 200, never through a 5xx of a missing cluster. */
  private static void neverAnError(String statusSequence) {
    assertThat(statusSequence).doesNotContain("503").doesNotContain("500").doesNotContain("502");
  }

  /** How a test asks for a service: the status of one request to it. */
  @FunctionalInterface
  private interface StatusOf {
    int status(String service) throws IOException;
  }

  /**
   * Registers {@code service} and deregisters it again once it answers: the distinct statuses seen
   * each way, in order, polling as fast as possible.
   */
  private static List<String> comesAndGoes(
      GatewayFixture gateway, String service, StatusOf statusOf) throws IOException {
    EchoService backend = gateway.backend(service, service + "-1");
    Registration registration =
        gateway.register(
            ServiceRegistration.builder(service)
                .instance(service + "-1", "127.0.0.1", backend.port())
                .route(Routes.prefix("/" + service))
                .build());
    String up = service + " up: " + statusesUntil(service, statusOf, 200);
    registration.close();
    return List.of(up, service + " down: " + statusesUntil(service, statusOf, 404));
  }

  private static String statusesUntil(String service, StatusOf statusOf, int target)
      throws IOException {
    List<Integer> seen = new ArrayList<>();
    long deadline = System.nanoTime() + REACHES_ENVOY.toNanos();
    while (System.nanoTime() < deadline) {
      int status = statusOf.status(service);
      if (seen.isEmpty() || seen.get(seen.size() - 1) != status) {
        seen.add(status);
      }
      if (status == target) {
        return seen.toString();
      }
    }
    throw new AssertionError(service + " never answered " + target + "; saw " + seen);
  }
}
