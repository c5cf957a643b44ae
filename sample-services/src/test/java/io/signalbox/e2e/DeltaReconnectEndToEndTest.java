package io.signalbox.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources;
import io.signalbox.client.RegistryClient;
import io.signalbox.client.Routes;
import io.signalbox.client.ServiceRegistration;
import io.signalbox.config.GatewaySettings;
import io.signalbox.samples.EchoService;
import io.signalbox.server.ControlPlane;
import io.signalbox.testing.Closer;
import io.signalbox.testing.EnvoyLogsOnFailure;
import io.signalbox.testing.EnvoyProcess;
import io.signalbox.testing.FreePorts;
import io.signalbox.testing.HttpProbe;
import io.signalbox.testing.LoadLoop;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.TestControlPlanes;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.ProxyStatusTracker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An Envoy on delta xDS loses its control plane and reconnects to another one (a replica, or the
 * same one restarted): it resumes from what it holds. Its bootstrap lists two control planes, A and
 * B; Envoy starts on A, B is started with its own registry, then A is closed and Envoy fails over
 * to B.
 *
 * <p>Two control planes rather than one restarted on the same port: B must hold its registrations
 * before Envoy can reach it, and a control plane that accepts connections before its store is
 * loaded would serve an empty snapshot (restart safety is the store's concern, not this test's).
 */
@ExtendWith(EnvoyLogsOnFailure.class)
class DeltaReconnectEndToEndTest {

  private static final Duration PROPAGATION = Duration.ofSeconds(5);

  /**
   * Envoy backs off between attempts to reach a control plane; the first few are well under this.
   */
  private static final Duration RECONNECT = Duration.ofSeconds(20);

  private final int gatewayPort = FreePorts.allocate();
  private final int portA = FreePorts.allocate();
  private final int portB = FreePorts.allocate();
  private final Closer owned = new Closer();
  private ControlPlane controlPlaneA;
  private ControlPlane controlPlaneB;
  private EnvoyProcess envoy;

  @BeforeEach
  void startEnvoyOnControlPlaneA() {
    controlPlaneA = controlPlane(portA);
    envoy =
        EnvoyProcess.builder()
            .nodeId("edge-reconnect")
            .nodeCluster("edge")
            .xdsPorts(List.of(portA, portB))
            .xdsMode(EnvoyProcess.XdsMode.DELTA)
            .start();
    envoy.awaitReady(RECONNECT);
  }

  @AfterEach
  void stopEverything() {
    owned.close();
    if (envoy != null) {
      envoy.close();
    }
  }

  @Test
  void aServiceDeletedWhileEnvoyWasAwayIsRemovedOnReconnectAndTheOtherKeepsServing()
      throws Exception {
    EchoService stays = backend("stays");
    EchoService leaves = backend("leaves");
    serve(client(controlPlaneA), "stays", stays);
    serve(client(controlPlaneA), "leaves", leaves);
    HttpProbe.awaitStatus(url("/stays"), 200, PROPAGATION);
    HttpProbe.awaitStatus(url("/leaves"), 200, PROPAGATION);

    controlPlaneB = controlPlane(portB);
    serve(client(controlPlaneB), "stays", stays);
    await()
        .atMost(PROPAGATION)
        .until(
            () ->
                controlPlaneB.publisher().current().resources().clusters().stream()
                    .anyMatch(
                        cluster -> cluster.getName().equals(XdsNames.serviceCluster("stays"))));
    try (LoadLoop traffic =
        LoadLoop.start("traffic-loop", List.of(url("/stays")), Duration.ofMillis(20))) {
      controlPlaneA.close();
      awaitStreamOn(controlPlaneB);

      HttpProbe.awaitStatus(url("/leaves"), 404, PROPAGATION);
      await()
          .atMost(PROPAGATION)
          .untilAsserted(
              () ->
                  assertThat(ConfigDumps.resources(envoy.configDump()))
                      .doesNotContainKey(XdsNames.serviceCluster("leaves"))
                      .containsKey(XdsNames.serviceCluster("stays"))
                      .allSatisfy((name, json) -> assertThat(json).doesNotContain("/leaves")));
      assertThat(HttpProbe.get(url("/stays")).status()).isEqualTo(200);

      assertThat(traffic.stop()).as("requests to the service that stayed").isGreaterThan(0);
      assertThat(traffic.failures()).as("failed requests: %s", traffic.statuses()).isZero();
    }
  }

  @Test
  void anEnvoyThatHoldsTheCurrentConfigurationIsSentNothingOnReconnect() {
    EchoService stays = backend("stays");
    serve(client(controlPlaneA), "stays", stays);
    HttpProbe.awaitStatus(url("/stays"), 200, PROPAGATION);
    controlPlaneB = controlPlane(portB);
    serve(client(controlPlaneB), "stays", stays);
    await()
        .atMost(PROPAGATION)
        .untilAsserted(
            () ->
                assertThat(controlPlaneB.publisher().current().version())
                    .as("both control planes translate the same registry into the same versions")
                    .isEqualTo(controlPlaneA.publisher().current().version()));
    long clusterUpdates = envoy.statValue("cluster_manager.cds.update_success");
    long listenerUpdates = envoy.statValue("listener_manager.lds.update_success");

    controlPlaneA.close();
    ProxyStatusTracker.ProxyStatus resumed = awaitStreamOn(controlPlaneB);

    // Envoy subscribes on B to every type it holds; give B the chance to answer (wrongly) before
    // looking.
    await()
        .pollDelay(Duration.ofSeconds(2))
        .atMost(PROPAGATION)
        .untilAsserted(
            () -> {
              ProxyStatusTracker.ProxyStatus status = streamOn(controlPlaneB);
              assertThat(status.streamId()).isEqualTo(resumed.streamId());
              assertThat(status.types())
                  .containsKeys(
                      Resources.V3.CLUSTER_TYPE_URL,
                      Resources.V3.LISTENER_TYPE_URL,
                      Resources.V3.ROUTE_TYPE_URL,
                      Resources.V3.ENDPOINT_TYPE_URL);
              assertThat(status.types().values())
                  .allSatisfy(
                      type ->
                          assertThat(type.sentAt()).as("response of %s", type.typeUrl()).isEmpty());
            });
    assertThat(envoy.statValue("cluster_manager.cds.update_success")).isEqualTo(clusterUpdates);
    assertThat(envoy.statValue("listener_manager.lds.update_success")).isEqualTo(listenerUpdates);
    assertThat(HttpProbe.get(url("/stays")).status()).isEqualTo(200);

    // Resuming left the stream knowing what Envoy holds, so a later deletion still reaches Envoy,
    // and the staged
    // removal counts the resumed Envoy as holding the configuration it was not sent.
    client(controlPlaneB).close();
    HttpProbe.awaitStatus(url("/stays"), 404, PROPAGATION);
    await()
        .atMost(PROPAGATION)
        .untilAsserted(
            () ->
                assertThat(ConfigDumps.resources(envoy.configDump()))
                    .doesNotContainKey(XdsNames.serviceCluster("stays")));
  }

  private ControlPlane controlPlane(int grpcPort) {
    ControlPlane controlPlane =
        ControlPlane.start(
            TestControlPlanes.onLoopback()
                .grpcPort(grpcPort)
                .adminPort(0)
                .metricsPort(0)
                // Long, so that a staged change waiting on an Envoy that resumed (and was sent
                // nothing) shows as a stall.
                .stageTimeout(Duration.ofSeconds(30))
                .gateway(
                    LoopbackUpstreams.allowedIn(
                        GatewaySettings.plaintext("127.0.0.1", gatewayPort)))
                .build());
    owned.add(controlPlane);
    return controlPlane;
  }

  private final Map<ControlPlane, RegistryClient> clients = new java.util.IdentityHashMap<>();

  /** One SDK client per control plane; closing it deregisters what it registered. */
  private RegistryClient client(ControlPlane controlPlane) {
    return clients.computeIfAbsent(
        controlPlane,
        cp -> {
          RegistryClient client =
              RegistryClient.builder()
                  .target("127.0.0.1:" + cp.grpcPort())
                  .shutdownHook(false)
                  .build();
          owned.add(client);
          return client;
        });
  }

  private EchoService backend(String service) {
    EchoService backend = EchoService.start(service, service + "-1", "127.0.0.1", 0);
    owned.add(backend);
    return backend;
  }

  private static void serve(RegistryClient client, String service, EchoService backend) {
    client.register(
        ServiceRegistration.builder(service)
            .instance(backend.instanceId(), "127.0.0.1", backend.port())
            .route(Routes.prefix("/" + service))
            .build());
  }

  private String url(String path) {
    return "http://127.0.0.1:" + gatewayPort + path;
  }

  private ProxyStatusTracker.ProxyStatus awaitStreamOn(ControlPlane controlPlane) {
    return await()
        .atMost(RECONNECT)
        .until(
            () -> streamOrNull(controlPlane),
            status -> status != null && status.types().containsKey(Resources.V3.CLUSTER_TYPE_URL));
  }

  private ProxyStatusTracker.ProxyStatus streamOn(ControlPlane controlPlane) {
    ProxyStatusTracker.ProxyStatus status = streamOrNull(controlPlane);
    assertThat(status).as("Envoy's stream on the control plane").isNotNull();
    return status;
  }

  private ProxyStatusTracker.ProxyStatus streamOrNull(ControlPlane controlPlane) {
    return controlPlane.xdsCallbacks().proxies().proxies().stream()
        .filter(p -> p.nodeId().equals(envoy.nodeId()))
        .findFirst()
        .orElse(null);
  }
}
