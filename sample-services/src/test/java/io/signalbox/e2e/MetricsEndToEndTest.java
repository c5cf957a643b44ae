package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.signalbox.client.Routes;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.MetricsScrape;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What {@code /metrics} says about a real Envoy that takes a registration: connected, pushed to,
 * acknowledging.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class MetricsEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  @Test
  void aRegistrationReachingEnvoyIsCountedPushedAndAcknowledged() {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.SOTW)) {
      String metricsUrl = "http://127.0.0.1:" + gateway.controlPlane().metricsPort() + "/metrics";

      gateway.serve("orders", "orders-1", Routes.prefix("/orders"));
      HttpProbe.awaitStatus(gateway.url("/orders"), 200, REACHES_ENVOY);

      // Envoy answers the new clusters and endpoints right after it applies them; the 200 may come
      // first.
      await()
          .atMost(REACHES_ENVOY)
          .untilAsserted(
              () -> {
                MetricsScrape metrics = MetricsScrape.of(metricsUrl);
                assertThat(
                        metrics.require(
                            "signalbox_xds_connected_proxies", "group", GatewayFixture.GROUP))
                    .isEqualTo(1);
                assertThat(metrics.require("signalbox_registrations_total", "outcome", "ok"))
                    .isEqualTo(1);
                assertThat(metrics.require("signalbox_registry_instances")).isEqualTo(1);
                for (String type : new String[] {"clusters", "endpoints", "listeners", "routes"}) {
                  double pushes = metrics.require("signalbox_xds_pushes_total", "type", type);
                  assertThat(pushes).as("%s pushed", type).isGreaterThanOrEqualTo(1);
                  // A response superseded before Envoy answered it is answered through the newer
                  // one: not timed.
                  assertThat(
                          metrics.require("signalbox_xds_ack_latency_seconds_count", "type", type))
                      .as("%s acked", type)
                      .isBetween(1.0, pushes);
                }
                assertThat(metrics.require("signalbox_xds_nacks_total", "type", "clusters"))
                    .isZero();
                assertThat(
                        metrics.require(
                            "signalbox_xds_ack_latency_seconds_sum", "type", "clusters"))
                    .isPositive()
                    .isLessThan(REACHES_ENVOY.toSeconds());
              });
    }
  }
}
