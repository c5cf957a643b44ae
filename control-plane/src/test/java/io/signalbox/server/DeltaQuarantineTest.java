package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.admin.v1.AdminGrpc;
import io.signalbox.admin.v1.ListServicesRequest;
import io.signalbox.admin.v1.RegistrationStatus;
import io.signalbox.admin.v1.Service;
import io.signalbox.config.GatewaySettings;
import io.signalbox.config.RateLimitServiceSpec;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.translate.XdsNames;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The quarantine over a delta stream, whose Envoy is sent only what changed. Two services are
 * registered together and the Envoy rejects the cluster of the first. The bisection's first trial
 * is the last good configuration with that service alone: its cluster is the same as in the
 * rejected snapshot, so only the other's removal changed. The trial must still be judged by the
 * cluster the Envoy rejected, sent with it again; judged by the removal alone, it passed, and the
 * other service was quarantined.
 */
class DeltaQuarantineTest {

  private static final Duration PATIENCE = Duration.ofSeconds(15);

  private ControlPlane controlPlane;
  private ManagedChannel registryChannel;
  private ManagedChannel adminChannel;
  private FakeAdsClient envoy;

  @AfterEach
  void stop() {
    if (envoy != null) {
      envoy.close();
    }
    registryChannel.shutdownNow();
    adminChannel.shutdownNow();
    controlPlane.close();
  }

  private void start() {
    start(GatewaySettings.plaintext("127.0.0.1", FreePorts.allocate()));
  }

  private void start(GatewaySettings settings) {
    controlPlane =
        ControlPlane.start(
            TestControlPlanes.onLoopback()
                .adminPort(0)
                .gateway(LoopbackUpstreams.allowedIn(settings))
                .build());
    registryChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    adminChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.adminPort())
            .usePlaintext()
            .build();
  }

  /**
   * An Envoy that cannot take a cluster the operator's settings make (an external rate-limit
   * service's), which the last good configuration holds as well: not a registration's doing. It
   * must not be sent that cluster again with the next service's, or it would reject that change
   * too, and the quarantine blame the service.
   */
  @Test
  void anEnvoyRejectingWhatTheLastGoodConfigurationHoldsIsNotSentItWithLaterChanges() {
    start(
        GatewaySettings.plaintext("127.0.0.1", FreePorts.allocate()).toBuilder()
            .rateLimitService(
                new RateLimitServiceSpec(
                    Optional.of(new RateLimitServiceSpec.HostAndPort("127.0.0.1", 9)),
                    Duration.ofMillis(50)))
            .build());
    envoy =
        FakeAdsClient.deltaRejecting(
            controlPlane.grpcPort(),
            FakeAdsClient.node("edge-1", "edge"),
            Set.of(XdsNames.rateLimitCluster()));
    await().atMost(PATIENCE).until(() -> controlPlane.xdsCallbacks().nackCount() == 1);

    register("billing");
    await().atMost(PATIENCE).until(() -> statuses().get("billing") == RegistrationStatus.ACTIVE);
    register("catalog");
    await()
        .during(Duration.ofMillis(500))
        .atMost(PATIENCE)
        .until(
            () ->
                statuses()
                    .equals(
                        Map.of(
                            "billing", RegistrationStatus.ACTIVE,
                            "catalog", RegistrationStatus.ACTIVE)));
    assertThat(controlPlane.xdsCallbacks().responsesSent(FakeAdsClient.CLUSTERS))
        .as("billing's and catalog's clusters were sent")
        .isGreaterThanOrEqualTo(3);
    assertThat(controlPlane.xdsCallbacks().nackCount())
        .as("the rate-limit cluster was not sent again with them")
        .isEqualTo(1);
    assertThat(controlPlane.publisher().quarantineTrials()).isZero();
  }

  @Test
  void aTrialThatKeepsTheRejectedClusterAsItWasIsRejectedAgainAndOnlyItsServiceIsQuarantined() {
    start();
    envoy =
        FakeAdsClient.deltaRejecting(
            controlPlane.grpcPort(),
            FakeAdsClient.node("edge-1", "edge"),
            Set.of(XdsNames.serviceCluster("audit")));
    register("catalog");
    await().atMost(PATIENCE).until(() -> statuses().get("catalog") == RegistrationStatus.ACTIVE);

    // Published together: "audit" sorts first, so the first trial holds it alone.
    controlPlane.publisher().pause();
    register("audit");
    register("billing");
    controlPlane.publisher().resume();

    await().atMost(PATIENCE).until(() -> statuses().get("audit") == RegistrationStatus.QUARANTINED);
    assertThat(statuses())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                "audit", RegistrationStatus.QUARANTINED,
                "billing", RegistrationStatus.ACTIVE,
                "catalog", RegistrationStatus.ACTIVE));
    assertThat(controlPlane.publisher().quarantineTrials()).as("bisected").isPositive();
  }

  private void register(String service) {
    RegistryGrpc.newBlockingStub(registryChannel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(TestRegistrations.request(service, service + "-1", 9));
  }

  private Map<String, RegistrationStatus> statuses() {
    return AdminGrpc.newBlockingStub(adminChannel)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .listServices(ListServicesRequest.getDefaultInstance())
        .getServicesList()
        .stream()
        .collect(Collectors.toMap(Service::getName, Service::getStatus));
  }
}
