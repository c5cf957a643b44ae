package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.signalbox.client.Routes;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node group is forgotten once its Envoys have all gone; an Envoy of it that comes back is served
 * as before. Here the same Envoy process comes back: frozen, its stream cut off for lagging, its
 * group forgotten, then thawed, it reconnects on its own.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class ForgottenGroupEndToEndTest {

  private static final Duration PROPAGATION = Duration.ofSeconds(10);

  @Test
  void anEnvoyWhoseGroupWasForgottenWhileItWasAwayIsServedTheCurrentConfigurationWhenItReturns() {
    try (GatewayFixture gateway =
        GatewayFixture.start(
            EnvoyProcess.XdsMode.DELTA, config -> config.xdsCutoff(Duration.ofSeconds(1)))) {
      gateway.serve("before", "before-1", Routes.prefix("/before"));
      HttpProbe.awaitStatus(gateway.url("/before"), 200, PROPAGATION);
      EnvoyProcess envoy = gateway.envoy();

      envoy.suspend();
      try {
        // Sent to a frozen Envoy: unanswered, its stream is cut off after a second.
        gateway.serve("during", "during-1", Routes.prefix("/during"));
        await()
            .atMost(PROPAGATION)
            .until(() -> gateway.controlPlane().xdsCallbacks().proxies().proxies().isEmpty());
        // The next publication forgets the group.
        gateway.serve("after", "after-1", Routes.prefix("/after"));
        await()
            .atMost(PROPAGATION)
            .until(
                () -> !gateway.controlPlane().publisher().groups().contains(GatewayFixture.GROUP));
      } finally {
        envoy.resume();
      }

      HttpProbe.awaitStatus(gateway.url("/after"), 200, PROPAGATION);
      assertThat(HttpProbe.get(gateway.url("/during")).status()).isEqualTo(200);
      assertThat(HttpProbe.get(gateway.url("/before")).status()).isEqualTo(200);
      assertThat(gateway.controlPlane().publisher().groups()).contains(GatewayFixture.GROUP);
    }
  }
}
