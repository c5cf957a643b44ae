package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.server.ControlPlane;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.MetricsScrape;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.xds.XdsCallbacks;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A configuration that passes our checks but that Envoy rejects: the gateway port is already taken
 * on the Envoy host, so Envoy NACKs the listener. The NACK must be noticed, the rejected listener
 * must not be pushed again and again, and the rest of the configuration must keep flowing.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class NackEndToEndTest {

  @ParameterizedTest
  @EnumSource(EnvoyProcess.XdsMode.class)
  void aRejectedListenerIsReportedNotResentAndOtherChangesStillArrive(EnvoyProcess.XdsMode mode)
      throws IOException {
    try (ServerSocket occupied = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ControlPlane controlPlane =
            ControlPlane.start(
                TestControlPlanes.onLoopback()
                    .gateway(
                        LoopbackUpstreams.allowedIn(
                            GatewaySettings.plaintext("127.0.0.1", occupied.getLocalPort())))
                    .build());
        EnvoyProcess envoy =
            EnvoyProcess.builder()
                .nodeId("nacking-edge-" + mode)
                .nodeCluster("edge")
                .xdsPort(controlPlane.grpcPort())
                .xdsMode(mode)
                .start()) {
      XdsCallbacks xds = controlPlane.xdsCallbacks();

      await().atMost(Duration.ofSeconds(10)).until(() -> xds.nackCount() >= 1);

      long listenerResponses = xds.responsesSent(Resources.V3.LISTENER_TYPE_URL);
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(3))
          .until(() -> xds.responsesSent(Resources.V3.LISTENER_TYPE_URL) == listenerResponses);
      assertThat(xds.nackCount()).as("one NACK, not a loop of them").isLessThanOrEqualTo(2);
      assertThat(
              MetricsScrape.of("http://127.0.0.1:" + controlPlane.metricsPort() + "/metrics")
                  .require("signalbox_xds_nacks_total", "type", "listeners"))
          .isEqualTo(xds.nackCount());

      register(controlPlane.grpcPort(), "after-nack");
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> assertThat(envoy.configDump()).contains("\"name\": \"svc-after-nack\""));
      // The settings, not a registration, caused the rejection: the quarantine tried nothing and
      // withheld nothing.
      assertThat(controlPlane.publisher().quarantineTrials()).isZero();
    }
  }

  private static void register(int port, String service) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      RegistryGrpc.newBlockingStub(channel)
          .register(TestRegistrations.request(service, service + "-1", 9));
    } finally {
      channel.shutdownNow();
    }
  }
}
