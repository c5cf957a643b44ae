package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.ServiceRegistration;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RetryPolicy;
import io.signalbox.registry.v1.Route;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Retries through real Envoy: a request that an instance answers 503 once is retried into a 200
 * when the route asks for retries (and passes the 503 on when it does not); when every try fails
 * under load, the cluster's retry budget holds the retries back and Envoy counts the ones it
 * refused.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class RetryEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  private static void register(
      GatewayFixture gateway, String service, int port, RetryPolicy retry) {
    Route.Builder route =
        Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/" + service));
    if (retry != null) {
      route.setRetry(retry);
    }
    gateway.register(
        ServiceRegistration.builder(service)
            .instance(service + "-1", "127.0.0.1", port)
            .route(route.build())
            .build());
  }

  /** Polls until the route is in Envoy; returns the first status that is not 404. */
  private static int firstAnswer(String url) {
    long deadline = System.nanoTime() + REACHES_ENVOY.toNanos();
    while (System.nanoTime() < deadline) {
      int status = HttpProbe.get(url).status();
      if (status != 404) {
        return status;
      }
    }
    throw new AssertionError(url + " never left 404");
  }

  @Test
  void aRequestAnInstanceFailsOnceIsRetriedIntoA200WhenTheRouteAsksForRetries() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend flaky = ScriptedBackend.failingFirst(1, Duration.ZERO);
        ScriptedBackend fragile = ScriptedBackend.failingFirst(1, Duration.ZERO)) {
      register(gateway, "flaky", flaky.port(), RetryPolicy.newBuilder().setAttempts(2).build());
      register(gateway, "fragile", fragile.port(), null);

      assertThat(firstAnswer(gateway.url("/flaky"))).as("503, retried").isEqualTo(200);
      assertThat(flaky.requests()).as("the failed try and the retry").isEqualTo(2);
      assertThat(gateway.envoy().statValue("cluster.svc-flaky.upstream_rq_retry_success"))
          .isEqualTo(1);
      assertThat(firstAnswer(gateway.url("/fragile"))).as("no retry policy").isEqualTo(503);
      assertThat(fragile.requests()).isEqualTo(1);
    }
  }

  @Test
  void retriesBackOffAsTheRouteAsks() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend down = ScriptedBackend.always("down", 503, Duration.ZERO)) {
      register(
          gateway,
          "patient",
          down.port(),
          RetryPolicy.newBuilder()
              .setAttempts(2)
              .setBackoffBaseInterval(com.google.protobuf.util.Durations.fromMillis(300))
              .setBackoffMaxInterval(com.google.protobuf.util.Durations.fromMillis(300))
              .build());
      assertThat(firstAnswer(gateway.url("/patient"))).isEqualTo(503);

      int requests = 5;
      int before = down.requests();
      long start = System.nanoTime();
      for (int i = 0; i < requests; i++) {
        assertThat(HttpProbe.get(gateway.url("/patient/" + i)).status()).isEqualTo(503);
      }
      long elapsedMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();

      assertThat(down.requests() - before).as("each request tried 3 times").isEqualTo(15);
      // Envoy waits a random time below the back-off before each retry: 10 waits of up to 300 ms
      // add up to 1.5 s on average and to less than 600 ms once in about 2,000 runs. With Envoy's
      // default back-off (25 ms base) they cannot exceed 500 ms.
      System.out.printf("5 requests with 2 backed-off retries each: %d ms%n", elapsedMillis);
      assertThat(elapsedMillis).isGreaterThan(600);
    }
  }

  @Test
  void theRetryBudgetHoldsBackARetryStormAndEnvoyCountsIt() throws Exception {
    // 150 requests fail at once, each allowed 5 retries. The budget lets 20 % of the requests in
    // flight retry (at least 3 at a time): about 30 in the first wave, fewer as the storm ebbs.
    // Without it Envoy's default limit of 3 retries in flight would allow at most 3 x 5 retries in
    // all, and with no limit every request would retry 5 times.
    int concurrent = 150;
    int attempts = 5;
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA);
        ScriptedBackend down = ScriptedBackend.always("down", 503, Duration.ofMillis(300))) {
      register(
          gateway, "down", down.port(), RetryPolicy.newBuilder().setAttempts(attempts).build());
      assertThat(firstAnswer(gateway.url("/down"))).isEqualTo(503);
      int before = down.requests();
      long retriesBefore = gateway.envoy().statValue("cluster.svc-down.upstream_rq_retry");

      HttpClient client = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(8)).build();
      List<CompletableFuture<HttpResponse<Void>>> responses = new ArrayList<>();
      for (int i = 0; i < concurrent; i++) {
        responses.add(
            client.sendAsync(
                HttpRequest.newBuilder(URI.create(gateway.url("/down/" + i)))
                    .timeout(Duration.ofSeconds(30))
                    .build(),
                HttpResponse.BodyHandlers.discarding()));
      }
      for (CompletableFuture<HttpResponse<Void>> response : responses) {
        assertThat(response.get().statusCode()).isEqualTo(503);
      }

      int tries = down.requests() - before;
      long retried =
          gateway.envoy().statValue("cluster.svc-down.upstream_rq_retry") - retriesBefore;
      long refused = gateway.envoy().statValue("cluster.svc-down.upstream_rq_retry_overflow");
      System.out.printf(
          "retry storm: %d requests, %d tries reached the instance (without a limit: %d), "
              + "%d retries made, %d refused by the budget%n",
          concurrent, tries, concurrent * (attempts + 1), retried, refused);
      assertThat(refused).as("retries the budget refused").isPositive();
      assertThat(tries).isLessThan(concurrent * (attempts + 1));
      assertThat(retried)
          .as("more retries than Envoy's default limit (3 in flight) could have made: the budget's")
          .isGreaterThan(3L * attempts);
    }
  }
}
