package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.signalbox.client.Registration;
import io.signalbox.client.Routes;
import io.signalbox.samples.EchoService;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Health reported by the instance itself through the SDK, through real Envoy: an instance that
 * reports NOT_SERVING stops receiving requests within a second, stays registered, and takes them
 * again once it reports SERVING.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class ServingStatusEndToEndTest {

  private final HttpClient client = HttpClient.newHttpClient();

  private String instanceAnswering(GatewayFixture gateway) throws Exception {
    HttpResponse<String> response =
        client.send(
            HttpRequest.newBuilder(URI.create(gateway.url("/orders")))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response.headers().firstValue(EchoService.INSTANCE_HEADER).orElseThrow();
  }

  private Set<String> instancesAnswering(GatewayFixture gateway, int requests) throws Exception {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < requests; i++) {
      seen.add(instanceAnswering(gateway));
    }
    return seen;
  }

  @Test
  void aNotServingInstanceTakesNoRequestsWithinASecondWithoutLeavingTheRegistry() throws Exception {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      Registration second = gateway.serve("orders", "orders-2", Routes.prefix("/orders"));
      int secondPort = second.registration().port();
      HttpProbe.awaitStatus(gateway.url("/orders"), 200, Duration.ofSeconds(10));
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (instancesAnswering(gateway, 10).size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(instancesAnswering(gateway, 20)).containsExactlyInAnyOrder("orders-1", "orders-2");

      long reported = System.nanoTime();
      second.setServing(false);
      // From the answer on, poll until the instance is out of every answer: the time it took, to
      // the start of the ten requests that found it out (their own time is the test's).
      long out = 0;
      while (System.nanoTime() - reported < Duration.ofSeconds(5).toNanos()) {
        long pollStarted = System.nanoTime();
        if (!instancesAnswering(gateway, 10).contains("orders-2")) {
          out = pollStarted;
          break;
        }
      }
      assertThat(out).as("orders-2 stopped receiving requests").isPositive();
      assertThat(Duration.ofNanos(out - reported)).isLessThan(Duration.ofSeconds(1));
      assertThat(instancesAnswering(gateway, 50)).containsExactly("orders-1");
      assertThat(second.isOpen()).as("still registered, its lease kept alive").isTrue();
      // Envoy has the endpoint, marked unhealthy by EDS (not removed).
      assertThat(gateway.envoy().adminGet("/clusters"))
          .contains("svc-orders::127.0.0.1:" + secondPort + "::health_flags::/failed_eds_health");

      second.setServing(true);
      deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (!instancesAnswering(gateway, 10).contains("orders-2")
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(instancesAnswering(gateway, 30)).contains("orders-2");
    }
  }
}
