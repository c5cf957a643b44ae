package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.signalbox.client.Routes;
import io.signalbox.config.PolicyDefaults;
import io.signalbox.config.RateLimitServiceSpec;
import io.signalbox.model.RateLimit;
import io.signalbox.ratelimit.FixedWindowCounters;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RateLimitPolicy;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.MetricsScrape;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Rate limits through real Envoys: local limits each Envoy counts alone, fleet-wide limits counted
 * by Signalbox's own rate-limit service, and what a route does when the rate-limit service cannot
 * be asked.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class RateLimitEndToEndTest {

  private static final EnvoyProcess.XdsMode MODE = EnvoyProcess.XdsMode.SOTW;
  private static final Duration PROPAGATION = Duration.ofSeconds(10);
  private static final String TENANT = "x-tenant";

  @Test
  void aLocalLimitOfThreePerMinuteAnswersTheFourthRequest429WithRateLimitHeaders() {
    try (GatewayFixture gateway = GatewayFixture.start(MODE)) {
      register(gateway, "catalog", limitedRoute("/catalog", limit(3, RateLimitPolicy.Unit.MINUTE)));
      awaitServed(gateway, "catalog");

      try (RateLimitHttpConnection connection =
          RateLimitHttpConnection.open(gateway.gatewayPort())) {
        List<RateLimitHttpConnection.Response> responses = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          responses.add(connection.get("/catalog/items"));
        }

        assertThat(responses)
            .extracting(RateLimitHttpConnection.Response::status)
            .containsExactly(200, 200, 200, 429);
        assertThat(responses).extracting(r -> r.header("x-ratelimit-limit")).containsOnly("3");
        assertThat(responses)
            .extracting(r -> r.header("x-ratelimit-remaining"))
            .containsExactly("2", "1", "0", "0");
        RateLimitHttpConnection.Response limited = responses.get(3);
        assertThat(Integer.parseInt(limited.header("x-ratelimit-reset"))).isBetween(1, 60);
        assertThat(limited.body()).doesNotContain("\"service\"");
      }
      assertThat(gateway.envoy().statValue("local_rate_limit.http_local_rate_limit.rate_limited"))
          .isEqualTo(1);
      assertThat(HttpProbe.get(gateway.url("/catalog-unlimited")).status())
          .as("another route of the service is not limited")
          .isEqualTo(200);
    }
  }

  /**
   * The operator's default limit applies to routes registered without one; a route's own limit
   * replaces it.
   */
  @Test
  void theOperatorsDefaultLimitAppliesToRoutesRegisteredWithoutOne() {
    try (GatewayFixture gateway =
        GatewayFixture.startWithSettings(
            MODE,
            settings ->
                settings.defaults(
                    new PolicyDefaults(
                        Optional.empty(),
                        Optional.of(RateLimit.local(2, RateLimit.Unit.MINUTE)),
                        RateLimit.FailureMode.ALLOW)))) {
      register(
          gateway,
          "plain",
          Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/plain")).build());
      register(gateway, "own", limitedRoute("/own", limit(4, RateLimitPolicy.Unit.MINUTE)));
      // Each route has its own bucket: waiting on the -unlimited routes spends none of these.
      awaitServed(gateway, "plain");
      awaitServed(gateway, "own");

      try (RateLimitHttpConnection connection =
          RateLimitHttpConnection.open(gateway.gatewayPort())) {
        assertThat(statuses(connection, "/plain", Map.of(), 3))
            .as("the default, 2 per minute")
            .containsExactly(200, 200, 429);
        assertThat(statuses(connection, "/own", Map.of(), 5))
            .as("its own limit, 4 per minute")
            .containsExactly(200, 200, 200, 200, 429);
      }
    }
  }

  @Test
  void localLimitsPerHeaderValueAndPerClientIpGiveEachValueItsOwnBudget() {
    try (GatewayFixture gateway = GatewayFixture.start(MODE)) {
      RateLimitPolicy perTenant =
          limit(2, RateLimitPolicy.Unit.MINUTE).toBuilder().setPerHeader(TENANT).build();
      RateLimitPolicy perClient =
          limit(2, RateLimitPolicy.Unit.MINUTE).toBuilder().setPerClientIp(true).build();
      register(gateway, "reports", limitedRoute("/reports", perTenant));
      register(gateway, "search", limitedRoute("/search", perClient));
      awaitServed(gateway, "reports");
      awaitServed(gateway, "search");

      try (RateLimitHttpConnection connection =
          RateLimitHttpConnection.open(gateway.gatewayPort())) {
        assertThat(statuses(connection, "/reports", Map.of(TENANT, "acme"), 3))
            .containsExactly(200, 200, 429);
        assertThat(statuses(connection, "/reports", Map.of(TENANT, "globex"), 3))
            .as("another tenant has its own budget")
            .containsExactly(200, 200, 429);
        assertThat(statuses(connection, "/reports", Map.of(), 3))
            .as("requests without the header share one budget")
            .containsExactly(200, 200, 429);
      }
      try (RateLimitHttpConnection first =
              RateLimitHttpConnection.open(gateway.gatewayPort(), "127.0.0.1");
          RateLimitHttpConnection second =
              RateLimitHttpConnection.open(gateway.gatewayPort(), "127.0.0.2")) {
        assertThat(statuses(first, "/search", Map.of(), 3)).containsExactly(200, 200, 429);
        assertThat(statuses(second, "/search", Map.of(), 3))
            .as("another client address has its own budget")
            .containsExactly(200, 200, 429);
      }
    }
  }

  @Test
  void aGlobalLimitOfTenPerMinuteHoldsAcrossTwoEnvoys() {
    try (GatewayFixture gateway = GatewayFixture.start(MODE)) {
      EnvoyProcess second = gateway.startEnvoy("edge-2");
      second.awaitReady();
      List<EnvoyProcess> envoys = List.of(gateway.envoy(), second);
      RateLimitPolicy global =
          limit(10, RateLimitPolicy.Unit.MINUTE).toBuilder()
              .setScope(RateLimitPolicy.Scope.GLOBAL)
              .build();
      register(gateway, "orders", limitedRoute("/orders", global));
      // Both Envoys bind the listener port (SO_REUSEPORT); one kept connection to each makes the
      // spread exact.
      List<RateLimitHttpConnection> connections =
          RateLimitEnvoyPinning.connectionPerEnvoy(
              gateway.gatewayPort(), envoys, "/orders-unlimited", PROPAGATION);
      try {
        RateLimitWindows.awaitRoomInCurrentMinute(Duration.ofSeconds(20));
        List<Integer> statuses = new ArrayList<>();
        List<String> remaining = new ArrayList<>();
        RateLimitHttpConnection.Response last = null;
        for (int i = 0; i < 20; i++) {
          last = connections.get(i % 2).get("/orders/" + i);
          statuses.add(last.status());
          remaining.add(last.header("x-ratelimit-remaining"));
        }

        assertThat(statuses)
            .as("alternating between the two Envoys")
            .containsExactlyElementsOf(
                List.of(
                    200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429,
                    429, 429, 429, 429));
        assertThat(remaining.subList(0, 10))
            .containsExactly("9", "8", "7", "6", "5", "4", "3", "2", "1", "0");
        assertThat(last.header("x-ratelimit-limit")).startsWith("10");
        assertThat(last.header("x-ratelimit-remaining")).isEqualTo("0");
        assertThat(Integer.parseInt(last.header("x-ratelimit-reset"))).isBetween(1, 60);
      } finally {
        connections.forEach(RateLimitHttpConnection::close);
      }
      for (EnvoyProcess envoy : envoys) {
        assertThat(envoy.statValue("cluster.svc-orders.ratelimit.fail_open.ok"))
            .as(envoy.nodeId())
            .isEqualTo(5);
        assertThat(envoy.statValue("cluster.svc-orders.ratelimit.fail_open.over_limit"))
            .as(envoy.nodeId())
            .isEqualTo(5);
      }
    }
  }

  @Test
  void whenTheRateLimitServiceIsUnreachableAFailOpenRoutePassesAndAFailClosedRouteIsRefused() {
    int closedPort = FreePorts.allocate();
    try (GatewayFixture gateway =
        GatewayFixture.startWithSettings(
            MODE,
            settings ->
                settings.rateLimitService(
                    new RateLimitServiceSpec(
                        Optional.of(new RateLimitServiceSpec.HostAndPort("127.0.0.1", closedPort)),
                        Duration.ofMillis(200))))) {
      RateLimitPolicy global =
          limit(100, RateLimitPolicy.Unit.MINUTE).toBuilder()
              .setScope(RateLimitPolicy.Scope.GLOBAL)
              .build();
      register(
          gateway,
          "lenient",
          limitedRoute(
              "/lenient",
              global.toBuilder().setFailureMode(RateLimitPolicy.FailureMode.ALLOW).build()));
      register(
          gateway,
          "strict",
          limitedRoute(
              "/strict",
              global.toBuilder().setFailureMode(RateLimitPolicy.FailureMode.DENY).build()));
      register(gateway, "defaulted", limitedRoute("/defaulted", global));
      awaitServed(gateway, "lenient");
      awaitServed(gateway, "strict");
      awaitServed(gateway, "defaulted");

      assertThat(HttpProbe.get(gateway.url("/lenient")).status()).isEqualTo(200);
      assertThat(HttpProbe.get(gateway.url("/defaulted")).status())
          .as("the settings' default failure mode is to allow")
          .isEqualTo(200);
      HttpProbe.Response refused = HttpProbe.get(gateway.url("/strict"));
      assertThat(refused.status()).as("Envoy's status_on_error default").isEqualTo(500);
      assertThat(refused.body()).doesNotContain("\"service\"");
      assertThat(
              gateway
                  .envoy()
                  .statValue("cluster.svc-lenient.ratelimit.fail_open.failure_mode_allowed"))
          .isEqualTo(1);
      assertThat(
              gateway
                  .envoy()
                  .statValue("cluster.svc-defaulted.ratelimit.fail_open.failure_mode_allowed"))
          .isEqualTo(1);
      assertThat(gateway.envoy().statValue("cluster.svc-strict.ratelimit.fail_closed.error"))
          .isEqualTo(1);
    }
  }

  /**
   * Counter memory for four counters: once two tenants on each of two routes hold them, a third
   * tenant is not waved through uncounted. Envoy gets an error and applies each route's failure
   * mode; known tenants keep counting.
   */
  @Test
  void whenTheCounterMemoryIsSpentANewTenantGetsItsRoutesFailureModeAndKnownTenantsKeepCounting() {
    try (GatewayFixture gateway =
        GatewayFixture.startWithSettings(
            MODE,
            settings ->
                settings.rateLimitService(
                    RateLimitServiceSpec.BUILT_IN.withCounterMemoryBytes(
                        4 * FixedWindowCounters.BYTES_PER_WINDOW)))) {
      RateLimitPolicy perTenant =
          limit(2, RateLimitPolicy.Unit.MINUTE).toBuilder()
              .setScope(RateLimitPolicy.Scope.GLOBAL)
              .setPerHeader(TENANT)
              .build();
      register(
          gateway,
          "lenient",
          limitedRoute(
              "/lenient",
              perTenant.toBuilder().setFailureMode(RateLimitPolicy.FailureMode.ALLOW).build()));
      register(
          gateway,
          "strict",
          limitedRoute(
              "/strict",
              perTenant.toBuilder().setFailureMode(RateLimitPolicy.FailureMode.DENY).build()));
      awaitServed(gateway, "lenient");
      awaitServed(gateway, "strict");
      // Counters that end free their room: the requests below (well under a second) stay in one
      // minute.
      RateLimitWindows.awaitRoomInCurrentMinute(Duration.ofSeconds(5));

      try (RateLimitHttpConnection connection =
          RateLimitHttpConnection.open(gateway.gatewayPort())) {
        for (String route : List.of("/lenient", "/strict")) {
          for (String tenant : List.of("acme", "globex")) {
            assertThat(statuses(connection, route, Map.of(TENANT, tenant), 1))
                .as(route + " " + tenant)
                .containsExactly(200);
          }
        }

        assertThat(statuses(connection, "/lenient", Map.of(TENANT, "initech"), 1))
            .as("fail open: passes, uncounted")
            .containsExactly(200);
        assertThat(statuses(connection, "/strict", Map.of(TENANT, "initech"), 1))
            .as("fail closed: Envoy's status_on_error")
            .containsExactly(500);
        assertThat(statuses(connection, "/strict", Map.of(TENANT, "acme"), 2))
            .as("a tenant with a counter keeps its count")
            .containsExactly(200, 429);
      }
      assertThat(
              gateway
                  .envoy()
                  .statValue("cluster.svc-lenient.ratelimit.fail_open.failure_mode_allowed"))
          .isEqualTo(1);
      assertThat(gateway.envoy().statValue("cluster.svc-strict.ratelimit.fail_closed.error"))
          .isEqualTo(1);
      MetricsScrape metrics =
          MetricsScrape.of("http://127.0.0.1:" + gateway.controlPlane().metricsPort() + "/metrics");
      assertThat(metrics.value("signalbox_ratelimit_refused_total", "reason", "counters_full"))
          .hasValue(2);
    }
  }

  @Test
  void aRegistrationWithAZeroLimitIsRejectedNamingTheFieldAndOtherServicesKeepServing() {
    try (GatewayFixture gateway = GatewayFixture.start(MODE)) {
      register(
          gateway, "steady", limitedRoute("/steady", limit(1000, RateLimitPolicy.Unit.SECOND)));
      awaitServed(gateway, "steady");
      EchoService backend = gateway.backend("careless", "careless-1");

      // Each with the field the error must name: zero, negative, missing unit, unknown unit.
      List<Map.Entry<RateLimitPolicy, String>> badPolicies =
          List.of(
              Map.entry(limit(0, RateLimitPolicy.Unit.MINUTE), "routes[0].rate_limit.requests:"),
              Map.entry(limit(-5, RateLimitPolicy.Unit.SECOND), "routes[0].rate_limit.requests:"),
              Map.entry(
                  RateLimitPolicy.newBuilder().setRequests(5).build(),
                  "routes[0].rate_limit.unit:"),
              Map.entry(
                  RateLimitPolicy.newBuilder().setRequests(5).setUnitValue(9).build(),
                  "routes[0].rate_limit.unit:"));
      badPolicies.forEach(
          badPolicy -> {
            RateLimitPolicy policy = badPolicy.getKey();
            String field = badPolicy.getValue();
            RegisterRequest bad =
                request("careless", backend.port(), limitedRoute("/careless", policy));
            assertThatThrownBy(() -> gateway.registryStub().register(bad))
                .as(policy.toString())
                .isInstanceOfSatisfying(
                    StatusRuntimeException.class,
                    e -> {
                      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                      assertThat(e.getStatus().getDescription()).startsWith(field);
                    });
          });

      for (int i = 0; i < 5; i++) {
        assertThat(HttpProbe.get(gateway.url("/steady")).status()).isEqualTo(200);
      }
      // A registration made after the rejected ones is served: had one of them been applied, it
      // would be by now.
      gateway.serve("after-careless", "after-careless-1", Routes.prefix("/after-careless"));
      HttpProbe.awaitStatus(gateway.url("/after-careless"), 200, Duration.ofSeconds(10));
      assertThat(HttpProbe.get(gateway.url("/careless")).status())
          .as("nothing of it was applied")
          .isEqualTo(404);
    }
  }

  private static RateLimitPolicy limit(int requests, RateLimitPolicy.Unit unit) {
    return RateLimitPolicy.newBuilder().setRequests(requests).setUnit(unit).build();
  }

  private static Route limitedRoute(String prefix, RateLimitPolicy limit) {
    return Route.newBuilder()
        .setPath(PathMatch.newBuilder().setPrefix(prefix))
        .setRateLimit(limit)
        .build();
  }

  /**
   * Registers {@code service} with {@code route} plus an unlimited route {@code
   * /SERVICE-unlimited}: both arrive in Envoy with the same route configuration, so a test can wait
   * on the second without spending the first's budget.
   */
  private static void register(GatewayFixture gateway, String service, Route route) {
    EchoService backend = gateway.backend(service, service + "-1");
    gateway.registryStub().register(request(service, backend.port(), route));
  }

  private static RegisterRequest request(String service, int port, Route route) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(service + "-1").setHost("127.0.0.1").setPort(port))
        .addRoutes(route)
        .addRoutes(
            Route.newBuilder()
                .setPath(PathMatch.newBuilder().setExact("/" + service + "-unlimited")))
        // Registered without the SDK, so nothing renews the lease: make it outlive the test.
        .setLeaseTtl(com.google.protobuf.Duration.newBuilder().setSeconds(300))
        .build();
  }

  private static void awaitServed(GatewayFixture gateway, String service) {
    HttpProbe.awaitStatus(gateway.url("/" + service + "-unlimited"), 200, PROPAGATION);
  }

  private static List<Integer> statuses(
      RateLimitHttpConnection connection, String path, Map<String, String> headers, int count) {
    List<Integer> statuses = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      statuses.add(connection.get(path, new HashMap<>(headers)).status());
    }
    return statuses;
  }
}
