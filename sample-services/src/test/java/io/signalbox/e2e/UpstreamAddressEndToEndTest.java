package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.Cidr;
import io.signalbox.registry.UpstreamAddressPolicy;
import io.signalbox.registry.v1.Instance;
import io.signalbox.registry.v1.PathMatch;
import io.signalbox.registry.v1.RegisterRequest;
import io.signalbox.registry.v1.Route;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.HttpProbe;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Through real Envoy: a registration cannot make the gateway forward the public to Envoy's own
 * admin interface (where {@code POST /quitquitquit} stops it), to cloud metadata, or to the control
 * plane.
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class UpstreamAddressEndToEndTest {

  private static final Duration REACHES_ENVOY = Duration.ofSeconds(10);

  private static RegisterRequest pointingAt(String service, String host, int port) {
    return RegisterRequest.newBuilder()
        .setService(service)
        .setInstance(Instance.newBuilder().setId(service + "-1").setHost(host).setPort(port))
        .addRoutes(
            Route.newBuilder()
                .setPath(PathMatch.newBuilder().setPrefix("/" + service + "/"))
                .setPrefixRewrite("/")
                .setPublic(true))
        .build();
  }

  @Test
  void noRegistrationReachesEnvoysAdminCloudMetadataOrTheControlPlaneAndOthersKeepServing() {
    try (GatewayFixture gateway = GatewayFixture.start(EnvoyProcess.XdsMode.DELTA)) {
      // An operator who runs test backends on loopback allows it, and refuses the Envoy admin port
      // of this host.
      int envoyAdmin = URI.create(gateway.envoy().adminUrl()).getPort();
      GatewaySettings settings = gateway.controlPlane().publisher().settings();
      gateway
          .controlPlane()
          .updateSettings(
              settings.toBuilder()
                  .upstreams(
                      new UpstreamAddressPolicy(
                          List.of(Cidr.parse("127.0.0.0/8")),
                          List.of(),
                          Set.of(UpstreamAddressPolicy.ENVOY_ADMIN_PORT, envoyAdmin)))
                  .build());
      gateway.serve("orders", "orders-1", io.signalbox.client.Routes.prefix("/orders"));
      HttpProbe.awaitStatus(gateway.url("/orders"), 200, REACHES_ENVOY);

      assertRefused(
          gateway,
          pointingAt("pwn", "127.0.0.1", envoyAdmin),
          "instance.port: " + envoyAdmin + " is refused by upstreams.denyPorts");
      assertRefused(
          gateway,
          pointingAt("metadata", "169.254.169.254", 80),
          "instance.host: 169.254.169.254 is a link-local address");
      assertRefused(
          gateway,
          pointingAt("cp", "127.0.0.1", gateway.controlPlane().grpcPort()),
          "instance.port: 127.0.0.1:"
              + gateway.controlPlane().grpcPort()
              + " is the control plane itself");

      // A marker registered after the refusals reaches Envoy only once everything before it has.
      gateway.serve("marker", "marker-1", io.signalbox.client.Routes.prefix("/marker"));
      HttpProbe.awaitStatus(gateway.url("/marker"), 200, REACHES_ENVOY);
      assertThat(HttpProbe.get(gateway.url("/pwn/server_info")).status()).isEqualTo(404);
      assertThat(HttpProbe.get(gateway.url("/orders")).status()).isEqualTo(200);
      assertThat(gateway.envoy().adminGet("/server_info")).contains("LIVE");
    }
  }

  private static void assertRefused(
      GatewayFixture gateway, RegisterRequest request, String message) {
    assertThatThrownBy(() -> gateway.registryStub().register(request))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getStatus().getDescription()).startsWith(message);
            });
  }
}
