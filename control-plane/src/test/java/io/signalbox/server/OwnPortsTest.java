package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.registry.v1.Route;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Even where loopback upstreams are allowed, no instance may point the gateway at the control
 * plane's own ports (its registry and xDS, admin and metrics servers, each on an ephemeral port
 * here): they are known once all listen, and asked on every registration.
 */
class OwnPortsTest {

  private ControlPlane controlPlane;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    controlPlane =
        ControlPlane.start(
            TestControlPlanes.onLoopback()
                .gateway(LoopbackUpstreams.allowedIn(GatewaySettings.DEFAULT))
                .build());
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    controlPlane.close();
  }

  private void register(String instance, int port) {
    RegistryGrpc.newBlockingStub(channel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(
            RegisterRequest.newBuilder()
                .setService("sneaky")
                .setInstance(
                    Instance.newBuilder().setId(instance).setHost("127.0.0.1").setPort(port))
                .addRoutes(Route.newBuilder().setPath(PathMatch.newBuilder().setPrefix("/sneaky")))
                .build());
  }

  @Test
  void anInstanceOnAnyOfTheControlPlanesPortsIsRefusedNamingTheField() {
    for (int own :
        new int[] {controlPlane.grpcPort(), controlPlane.adminPort(), controlPlane.metricsPort()}) {
      assertThatThrownBy(() -> register("sneaky-" + own, own))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                assertThat(e.getStatus().getDescription()).startsWith("instance.");
              });
    }

    register("elsewhere", 9);
  }
}
