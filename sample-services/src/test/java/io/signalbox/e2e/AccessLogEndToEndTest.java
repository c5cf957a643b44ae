package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.signalbox.client.Routes;
import io.signalbox.config.AccessLogSpec;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's access log through real Envoy: one JSON line per request, naming the route (and so
 * the service), the cluster, the instance that served it and the status; the token a client sent is
 * not in it.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class AccessLogEndToEndTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void everyRequestIsOneJsonLineNamingTheRouteTheInstanceAndTheStatus() throws Exception {
    Path log = dir.resolve("access.log");
    try (GatewayFixture gateway =
        GatewayFixture.startWithSettings(
            EnvoyProcess.XdsMode.DELTA,
            settings -> settings.accessLog(Optional.of(new AccessLogSpec(log.toString()))))) {
      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      HttpProbe.awaitStatus(gateway.url("/orders"), 200, Duration.ofSeconds(10));

      HttpProbe.get(
          gateway.url("/orders/42?marker=m42"), Map.of("authorization", "Bearer secret-token"));

      // Envoy flushes access log files every 10 s unless its bootstrap says otherwise.
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(log) && Files.readString(log).contains("marker=m42"));
      String text = Files.readString(log);
      assertThat(text).doesNotContain("secret-token");
      List<JsonNode> lines =
          text.lines()
              .map(AccessLogEndToEndTest::parse)
              .filter(l -> l.path("path").asText().contains("marker=m42"))
              .toList();
      assertThat(lines).hasSize(1);
      JsonNode line = lines.get(0);
      assertThat(line.path("route").asText()).isEqualTo("orders: prefix /orders");
      assertThat(line.path("cluster").asText()).isEqualTo("svc-orders");
      assertThat(line.path("status").asInt()).isEqualTo(200);
      assertThat(line.path("method").asText()).isEqualTo("GET");
      assertThat(line.path("path").asText()).isEqualTo("/orders/42?marker=m42");
      assertThat(line.path("request_id").asText()).as("Envoy's own at the edge").isNotEmpty();
      assertThat(line.path("upstream").asText()).startsWith("127.0.0.1:");
      assertThat(line.path("instance").asText()).as("the instance id").isEqualTo("orders-1");
      assertThat(line.path("listener").asText()).isEqualTo("http");
    }
  }

  private static JsonNode parse(String line) {
    try {
      return JSON.readTree(line);
    } catch (Exception e) {
      throw new AssertionError("not a JSON line: " + line, e);
    }
  }
}
