package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.Registration;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.CircuitBreaker;
import io.signalbox.registry.v1.LoadBalancing;
import io.signalbox.registry.v1.OutlierDetection;
import io.signalbox.registry.v1.TrafficPolicy;
import io.signalbox.registry.v1.VersionPin;
import io.signalbox.registry.v1.VersionSplit;
import io.signalbox.registry.v1.VersionWeight;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A service's traffic policy through real Envoy: outlier detection takes a failing instance out
 * while the other serves every request; a circuit breaker fails the requests over its limit fast
 * with 503 and {@code x-envoy-overloaded}; consistent hashing on a header sends one user to one
 * instance.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class TrafficPolicyEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  private static Registration register(
      GatewayFixture gateway, String service, String instance, int port, TrafficPolicy traffic) {
    return gateway.register(
        ServiceRegistration.builder(service)
            .instance(instance, "127.0.0.1", port)
            .route(Routes.prefix("/" + service))
            .traffic(traffic)
            .build());
  }

  @Test
  void outlierDetectionEjectsAnInstanceThatKeepsFailingAndTheOtherServesEveryRequest()
      throws Exception {
    TrafficPolicy traffic =
        TrafficPolicy.newBuilder()
            .setOutlierDetection(
                OutlierDetection.newBuilder()
                    .setConsecutive5Xx(2)
                    .setMaxEjectionPercent(50)
                    .setBaseEjectionTime(com.google.protobuf.util.Durations.fromSeconds(60)))
            .build();
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend broken = ScriptedBackend.always("broken", 500, Duration.ZERO)) {
      EchoService healthy = gateway.backend("pool", "healthy");
      register(gateway, "pool", "healthy", healthy.port(), traffic);
      register(gateway, "pool", "broken", broken.port(), traffic);
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> HttpProbe.get(gateway.url("/pool")).status() == 500);

      // Round robin sends the broken instance every other request until two 5xx in a row eject it;
      // Envoy's workers take the ejected host out of their balancers within about a second.
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(
              () -> {
                for (int i = 0; i < 10; i++) {
                  if (HttpProbe.get(gateway.url("/pool/" + i)).status() != 200) {
                    return false;
                  }
                }
                return true;
              });
      int brokenBefore = broken.requests();
      List<Integer> statuses = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        statuses.add(HttpProbe.get(gateway.url("/pool/" + i)).status());
      }

      assertThat(statuses).as("after the ejection").containsOnly(200);
      assertThat(broken.requests()).isEqualTo(brokenBefore);
      assertThat(
              gateway
                  .envoy()
                  .statValue("cluster.svc-pool.outlier_detection.ejections_enforced_total"))
          .isEqualTo(1);
    }
  }

  @Test
  void gatewayErrorsEjectAnInstanceWhenCountedApartFromOther5xx() throws Exception {
    // consecutive_5xx alone would need 1,000 failures in a row; the 502s count as gateway errors.
    TrafficPolicy traffic =
        TrafficPolicy.newBuilder()
            .setOutlierDetection(
                OutlierDetection.newBuilder()
                    .setConsecutive5Xx(1000)
                    .setConsecutiveGatewayErrors(2)
                    .setMaxEjectionPercent(50)
                    .setBaseEjectionTime(com.google.protobuf.util.Durations.fromSeconds(60)))
            .build();
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend badGateway = ScriptedBackend.always("bad-gateway", 502, Duration.ZERO)) {
      EchoService healthy = gateway.backend("edgepool", "healthy");
      register(gateway, "edgepool", "healthy", healthy.port(), traffic);
      register(gateway, "edgepool", "bad-gateway", badGateway.port(), traffic);
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(() -> HttpProbe.get(gateway.url("/edgepool")).status() == 502);

      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .until(
              () -> {
                for (int i = 0; i < 10; i++) {
                  if (HttpProbe.get(gateway.url("/edgepool/" + i)).status() != 200) {
                    return false;
                  }
                }
                return true;
              });

      assertThat(
              gateway
                  .envoy()
                  .statValue(
                      "cluster.svc-edgepool.outlier_detection"
                          + ".ejections_enforced_consecutive_gateway_failure"))
          .isEqualTo(1);
    }
  }

  @Test
  void requestsOverTheCircuitBreakersLimitFailFastWithOverloaded() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend slow = ScriptedBackend.always("slow", 200, Duration.ofMillis(500))) {
      register(
          gateway,
          "narrow",
          "narrow-1",
          slow.port(),
          TrafficPolicy.newBuilder()
              .setCircuitBreaker(
                  CircuitBreaker.newBuilder()
                      .setMaxConnections(1)
                      .setMaxPendingRequests(1)
                      .setMaxRequests(1))
              .build());
      HttpProbe.awaitStatus(gateway.url("/narrow"), 200, REACHES_ENVOY);

      HttpClient client = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(8)).build();
      List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        responses.add(
            client.sendAsync(
                HttpRequest.newBuilder(URI.create(gateway.url("/narrow/" + i)))
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      int ok = 0;
      int overloaded = 0;
      for (CompletableFuture<HttpResponse<String>> future : responses) {
        HttpResponse<String> response = future.get();
        if (response.statusCode() == 200) {
          ok++;
        } else {
          assertThat(response.statusCode()).isEqualTo(503);
          assertThat(response.headers().firstValue("x-envoy-overloaded")).contains("true");
          overloaded++;
        }
      }
      System.out.printf("circuit breaker: %d of 10 served, %d overloaded%n", ok, overloaded);
      assertThat(ok).isPositive();
      assertThat(overloaded).isPositive();
      assertThat(gateway.envoy().statValue("cluster.svc-narrow.upstream_rq_pending_overflow"))
          .isEqualTo(overloaded);
    }
  }

  @Test
  void consistentHashingOnAHeaderSendsOneUserToOneInstance() {
    TrafficPolicy affinity =
        TrafficPolicy.newBuilder()
            .setLoadBalancing(
                LoadBalancing.newBuilder()
                    .setAlgorithm(LoadBalancing.Algorithm.RING_HASH)
                    .setHeader("x-user-id"))
            .build();
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      for (String instance : List.of("carts-1", "carts-2", "carts-3")) {
        register(gateway, "carts", instance, gateway.backend("carts", instance).port(), affinity);
      }
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .ignoreExceptions()
          .until(
              () -> {
                Set<String> seen = new HashSet<>();
                for (int i = 0; i < 30; i++) {
                  seen.add(instanceOf(gateway, "user-" + i));
                }
                return seen.size() == 3;
              });

      Set<String> aliceWent = new HashSet<>();
      for (int i = 0; i < 100; i++) {
        aliceWent.add(instanceOf(gateway, "alice"));
      }
      assertThat(aliceWent).as("instances alice's 100 requests reached").hasSize(1);
    }
  }

  private static String instanceOf(GatewayFixture gateway, String user) {
    HttpProbe.Response response =
        HttpProbe.get(gateway.url("/carts/items"), Map.of("x-user-id", user));
    assertThat(response.status()).isEqualTo(200);
    return response.headers().firstValue(EchoService.INSTANCE_HEADER).orElseThrow();
  }

  @Test
  void aCanarySplitsByVersionAndAPinHeaderAlwaysReachesTheCanary() {
    TrafficPolicy canary =
        TrafficPolicy.newBuilder()
            .setVersions(
                VersionSplit.newBuilder()
                    .addWeights(VersionWeight.newBuilder().setVersion("v1").setWeight(90))
                    .addWeights(VersionWeight.newBuilder().setVersion("v2").setWeight(10))
                    .addPins(
                        VersionPin.newBuilder()
                            .setHeader("x-canary")
                            .setValue("1")
                            .setVersion("v2"))
                    .addPins(
                        VersionPin.newBuilder()
                            .setCookie("canary")
                            .setValue("yes")
                            .setVersion("v2")))
            .build();
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      for (String version : List.of("v1", "v2")) {
        String instance = "shop-" + version;
        gateway.register(
            ServiceRegistration.builder("shop")
                .instance(instance, "127.0.0.1", gateway.backend("shop", instance).port())
                .metadata("version", version)
                .route(Routes.prefix("/shop"))
                .traffic(canary)
                .build());
      }
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .ignoreExceptions()
          .until(() -> shopInstance(gateway, Map.of("x-canary", "1")).equals("shop-v2"));

      int canaryHits = 0;
      int requests = 2_000;
      // 50 in flight: one at a time, each new upstream request waits out a delayed ACK (~40 ms).
      HttpClient client = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(8)).build();
      for (int batch = 0; batch < requests / 50; batch++) {
        List<CompletableFuture<HttpResponse<Void>>> responses = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
          responses.add(
              client.sendAsync(
                  HttpRequest.newBuilder(URI.create(gateway.url("/shop/items")))
                      .timeout(Duration.ofSeconds(30))
                      .build(),
                  HttpResponse.BodyHandlers.discarding()));
        }
        for (CompletableFuture<HttpResponse<Void>> future : responses) {
          HttpResponse<Void> response = future.join();
          assertThat(response.statusCode()).isEqualTo(200);
          if (response
              .headers()
              .firstValue(EchoService.INSTANCE_HEADER)
              .orElseThrow()
              .equals("shop-v2")) {
            canaryHits++;
          }
        }
      }
      double share = canaryHits / (double) requests;
      System.out.printf(
          "canary 90/10: %d of %d requests (%.1f %%) reached v2%n",
          canaryHits, requests, share * 100);
      assertThat(share).as("v2's share of %d requests", requests).isBetween(0.07, 0.13);
      for (int i = 0; i < 50; i++) {
        assertThat(shopInstance(gateway, Map.of("x-canary", "1"))).isEqualTo("shop-v2");
        assertThat(shopInstance(gateway, Map.of("cookie", "session=abc; canary=yes; theme=dark")))
            .isEqualTo("shop-v2");
      }
      int notPinned = 0;
      for (int i = 0; i < 100; i++) {
        // A cookie whose name merely ends in "canary", or with another value, pins nothing.
        String instance =
            shopInstance(gateway, Map.of("cookie", i % 2 == 0 ? "nocanary=yes" : "canary=no"));
        notPinned += instance.equals("shop-v1") ? 1 : 0;
      }
      assertThat(notPinned).as("unpinned requests that reached v1 of 100").isGreaterThan(70);
    }
  }

  private static String shopInstance(GatewayFixture gateway, Map<String, String> headers) {
    HttpProbe.Response response = HttpProbe.get(gateway.url("/shop/items"), headers);
    assertThat(response.status()).isEqualTo(200);
    return response.headers().firstValue(EchoService.INSTANCE_HEADER).orElseThrow();
  }

  @Test
  void anActiveHealthCheckTakesAStoppedInstanceOutBeforeItsLeaseRunsOut() {
    TrafficPolicy checked =
        TrafficPolicy.newBuilder()
            .setHealthCheck(
                io.signalbox.registry.v1.HealthCheck.newBuilder()
                    .setHttpPath("/healthz")
                    .setInterval(com.google.protobuf.util.Durations.fromMillis(200))
                    .setUnhealthyThreshold(1))
            .build();
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      EchoService staying = gateway.backend("api", "api-1");
      EchoService stopping = EchoService.start("api", "api-2", "127.0.0.1", 0);
      for (EchoService instance : List.of(staying, stopping)) {
        gateway.register(
            ServiceRegistration.builder("api")
                .instance(instance.instanceId(), "127.0.0.1", instance.port())
                .route(Routes.prefix("/api"))
                .leaseTtl(Duration.ofMinutes(5))
                .traffic(checked)
                .build());
      }
      Awaitility.await()
          .atMost(REACHES_ENVOY)
          .ignoreExceptions()
          .until(
              () -> {
                Set<String> seen = new HashSet<>();
                for (int i = 0; i < 10; i++) {
                  seen.add(apiInstance(gateway));
                }
                return seen.size() == 2;
              });

      // Stopped without deregistering (a crash, a hung process): its lease has minutes left.
      stopping.close();
      Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () -> gateway.envoy().findStat("cluster.svc-api.health_check.failure").orElse(0) > 0);
      Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .until(() -> gateway.envoy().statValue("cluster.svc-api.membership_healthy") == 1);
      // Envoy's workers take the unhealthy host out of their balancers within about a second.
      Awaitility.await()
          .atMost(Duration.ofSeconds(5))
          .ignoreExceptions()
          .until(
              () -> {
                for (int i = 0; i < 10; i++) {
                  if (!apiInstance(gateway).equals("api-1")) {
                    return false;
                  }
                }
                return true;
              });
      for (int i = 0; i < 50; i++) {
        assertThat(apiInstance(gateway)).isEqualTo("api-1");
      }
    }
  }

  private static String apiInstance(GatewayFixture gateway) {
    HttpProbe.Response response = HttpProbe.get(gateway.url("/api/x"));
    assertThat(response.status()).isEqualTo(200);
    return response.headers().firstValue(EchoService.INSTANCE_HEADER).orElseThrow();
  }
}
