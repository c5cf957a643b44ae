package io.signalbox.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.signalbox.config.GatewaySettings;
import io.signalbox.registry.v1.RegistryGrpc;
import io.signalbox.security.TransportSecurity;
import io.signalbox.testing.FakeAdsClient;
import io.signalbox.testing.LoopbackUpstreams;
import io.signalbox.testing.MetricsScrape;
import io.signalbox.testing.SignalboxCtlRun;
import io.signalbox.testing.TestRegistrations;
import io.signalbox.translate.XdsNames;
import io.signalbox.xds.ContentVersionedSnapshot;
import io.signalbox.xds.ProxyStatusTracker;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import io.signalbox.xds.ProxyStatusTracker.TypeStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One hung Envoy sets the pace for nobody: Envoys that never read their responses, in the same node
 * group and in another, hold no staged change back (the stage timeout here is far longer than the
 * test's patience), cost at most one response per type each, show as lagging, and are cut off after
 * the cut-off time, while an Envoy that keeps up is served throughout.
 */
class HungEnvoyTest {

  private static final Duration STAGE_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static final Duration LAG_LIMIT = Duration.ofMillis(300);

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private ControlPlane controlPlane;
  private RegistryGrpc.RegistryBlockingStub registry;

  @AfterEach
  void stop() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private void start(Consumer<ControlPlaneConfig.Builder> customizer) {
    ControlPlaneConfig.Builder config =
        ControlPlaneConfig.builder()
            .transport(TransportSecurity.plaintext())
            .grpcAddress("127.0.0.1")
            .grpcPort(0)
            .gateway(LoopbackUpstreams.allowedIn(GatewaySettings.DEFAULT))
            .stageTimeout(STAGE_TIMEOUT)
            .xdsLagLimit(LAG_LIMIT);
    customizer.accept(config);
    controlPlane = ControlPlane.start(config.build());
    toClose.add(controlPlane);
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controlPlane.grpcPort()).usePlaintext().build();
    toClose.add(channel::shutdownNow);
    registry = RegistryGrpc.newBlockingStub(channel);
  }

  private FakeAdsClient connect(FakeAdsClient client) {
    toClose.add(client);
    return client;
  }

  private List<ProxyStatus> proxies() {
    return controlPlane.xdsCallbacks().proxies().proxies();
  }

  private ProxyStatus proxy(String nodeId) {
    return proxies().stream()
        .filter(proxy -> proxy.nodeId().equals(nodeId))
        .findFirst()
        .orElseThrow(() -> new AssertionError(nodeId + " is not connected: " + proxies()));
  }

  /** A healthy Envoy in group edge, never-reading ones in edge and in other-group. */
  private void connectHealthyAndHung(boolean delta) {
    connect(
        delta
            ? FakeAdsClient.delta(controlPlane.grpcPort(), FakeAdsClient.node("healthy", "edge"))
            : FakeAdsClient.sotw(
                controlPlane.grpcPort(), FakeAdsClient.node("healthy", "edge"), Set.of()));
    connect(
        FakeAdsClient.neverReading(
            controlPlane.grpcPort(), FakeAdsClient.node("hung-edge", "edge"), delta));
    connect(
        FakeAdsClient.neverReading(
            controlPlane.grpcPort(), FakeAdsClient.node("hung-other", "other-group"), delta));
    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () -> {
              assertThat(proxy("hung-edge").lagging()).isTrue();
              assertThat(proxy("hung-other").lagging()).isTrue();
            });
  }

  private void register(String service) {
    registry
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .register(TestRegistrations.request(service, service + "-1", 9));
  }

  /** Whether the last stage of the change that added {@code service} was published. */
  private boolean published(String service) {
    ContentVersionedSnapshot current = controlPlane.publisher().current();
    return current != null
        && current
            .versionedResources(ResourceType.CLUSTER)
            .containsKey(XdsNames.serviceCluster(service));
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void stagedChangesDoNotWaitForEnvoysThatDoNotRead(boolean delta) {
    start(config -> config.xdsCutoff(Duration.ZERO));
    connectHealthyAndHung(delta);

    for (String service : List.of("orders", "users", "billing")) {
      long started = System.nanoTime();
      register(service);
      await().atMost(PATIENCE).pollInterval(Duration.ofMillis(5)).until(() -> published(service));
      System.out.printf(
          "hung Envoys (delta=%s): %s published in %d ms%n",
          delta, service, (System.nanoTime() - started) / 1_000_000);
    }
    assertThat(proxy("healthy").lagging()).isFalse();
    assertThat(proxy("healthy").status()).isEqualTo(ProxyStatusTracker.SyncStatus.SYNCED);
    assertThat(SignalboxCtlRun.against(controlPlane.adminPort(), "proxies").out().lines())
        .as("signalboxctl proxies")
        .anyMatch(line -> line.startsWith("healthy ") && line.contains(" SYNCED "))
        .anyMatch(line -> line.startsWith("hung-edge ") && line.matches(".* LAGGING \\S+s .*"))
        .anyMatch(line -> line.startsWith("hung-other ") && line.contains(" LAGGING "));
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void anEnvoyThatDoesNotReadIsSentAtMostOneResponsePerType(boolean delta) {
    start(config -> config.xdsCutoff(Duration.ZERO));
    connectHealthyAndHung(delta);
    TypeStatus clustersBefore = proxy("hung-edge").types().get(FakeAdsClient.CLUSTERS);

    for (int i = 0; i < 10; i++) {
      String service = "svc-" + i;
      register(service);
      await().atMost(PATIENCE).until(() -> published(service));
    }

    ProxyStatus hung = proxy("hung-edge");
    assertThat(hung.types().get(FakeAdsClient.CLUSTERS))
        .as("nothing more was sent while the first response waits for its answer")
        .isEqualTo(clustersBefore);
    assertThat(hung.types().get(FakeAdsClient.CLUSTERS).sentAt()).isPresent();
  }

  @ParameterizedTest(name = "delta={0}")
  @ValueSource(booleans = {false, true})
  void anEnvoyThatLagsForTheCutoffTimeIsCutOffNamedAndCounted(boolean delta) {
    start(config -> config.xdsCutoff(Duration.ofSeconds(1)));
    connect(
        delta
            ? FakeAdsClient.delta(controlPlane.grpcPort(), FakeAdsClient.node("healthy", "edge"))
            : FakeAdsClient.sotw(
                controlPlane.grpcPort(), FakeAdsClient.node("healthy", "edge"), Set.of()));
    connect(
        FakeAdsClient.neverReading(
            controlPlane.grpcPort(), FakeAdsClient.node("hung-edge", "edge"), delta));
    await().atMost(PATIENCE).until(() -> proxies().size() == 2);

    await()
        .atMost(PATIENCE)
        .untilAsserted(
            () ->
                assertThat(proxies())
                    .extracting(ProxyStatus::nodeId)
                    .as("the hung Envoy's stream was ended")
                    .containsExactly("healthy"));

    List<ProxyStatusTracker.CutOffStream> cutOffs =
        controlPlane.xdsCallbacks().proxies().recentCutOffs();
    assertThat(cutOffs).hasSize(1);
    assertThat(cutOffs.get(0).node().getId()).isEqualTo("hung-edge");
    assertThat(cutOffs.get(0).group()).isEqualTo("edge");
    assertThat(cutOffs.get(0).laggedFor()).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    MetricsScrape metrics =
        MetricsScrape.of("http://127.0.0.1:" + controlPlane.metricsPort() + "/metrics");
    assertThat(metrics.require("signalbox_xds_streams_cut_off_total", "group", "edge"))
        .isEqualTo(1);
    assertThat(metrics.require("signalbox_xds_lagging_streams", "group", "edge")).isZero();
    assertThat(SignalboxCtlRun.against(controlPlane.adminPort(), "proxies").out())
        .as("signalboxctl proxies")
        .containsPattern("hung-edge \\(group edge, stream \\d+\\) cut off .* after lagging \\S+s");

    register("orders");
    await().atMost(PATIENCE).until(() -> published("orders"));
    assertThat(proxy("healthy").lagging()).isFalse();
  }
}
