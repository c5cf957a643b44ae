package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.signalbox.config.GatewaySettings;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.model.RegistryState;
import io.signalbox.testing.TestClock;
import io.signalbox.translate.GatewayTranslator;
import io.signalbox.xds.ProxyStatusTracker.LaggingStream;
import io.signalbox.xds.ProxyStatusTracker.ProxyStatus;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A stream that leaves a response unanswered for longer than the lag limit lags: it is shown as
 * such, and holds neither a staged change nor a quarantine verdict back, so that one hung Envoy
 * does not set the pace for the fleet.
 */
class LaggingStreamTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final Duration LAG_LIMIT = Duration.ofMillis(500);
  private static final Node HEALTHY = Node.newBuilder().setId("edge-1").setCluster("edge").build();
  private static final Node HUNG = Node.newBuilder().setId("edge-2").setCluster("edge").build();

  private final TestClock clock = new TestClock(Duration.ofDays(20_000));
  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(new NodeGroups(), clock, SignalboxMetrics.noop(), LAG_LIMIT);
  private final ContentVersionedSnapshot snapshot =
      ContentVersionedSnapshot.of(
          new GatewayTranslator().translate(RegistryState.EMPTY, GatewaySettings.DEFAULT));
  private final String clusters = snapshot.version(ResourceType.CLUSTER, List.of());

  private void sotwRequest(long stream, Node node, String version, String nonce) {
    tracker.onRequest(
        stream,
        DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(CDS)
            .setVersionInfo(version)
            .setResponseNonce(nonce)
            .build());
  }

  private void sotwResponse(long stream, String version, String nonce) {
    tracker.onResponse(
        stream,
        DiscoveryResponse.newBuilder()
            .setTypeUrl(CDS)
            .setVersionInfo(version)
            .setNonce(nonce)
            .build());
  }

  private ProxyStatus proxy(String nodeId) {
    return tracker.proxies().stream()
        .filter(proxy -> proxy.nodeId().equals(nodeId))
        .findFirst()
        .orElseThrow();
  }

  private boolean clustersApplied() {
    return tracker.applied("edge", ResourceType.CLUSTER, Set.of(), snapshot);
  }

  @Test
  void aStreamLagsOnceAResponseWaitedLongerThanTheLimitAndNoLongerOnceAnswered() {
    sotwRequest(1, HUNG, "", "");
    sotwResponse(1, clusters, "0");
    clock.advance(LAG_LIMIT);
    assertThat(proxy("edge-2").laggingFor()).as("at the limit").isEmpty();
    assertThat(tracker.laggingStreams()).isEmpty();

    clock.advance(Duration.ofMillis(700));
    assertThat(proxy("edge-2").laggingFor()).contains(Duration.ofMillis(1_200));
    assertThat(tracker.laggingStreams())
        .containsExactly(new LaggingStream(1, HUNG, "edge", Duration.ofMillis(1_200)));

    sotwRequest(1, HUNG, clusters, "0");
    assertThat(proxy("edge-2").lagging()).as("answered").isFalse();
  }

  @Test
  void aDeltaStreamLagsFromItsOldestUnansweredResponse() {
    tracker.onDeltaRequest(
        2, DeltaDiscoveryRequest.newBuilder().setNode(HUNG).setTypeUrl(CDS).build());
    tracker.onDeltaResponse(
        2,
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(CDS)
            .setSystemVersionInfo("v1")
            .setNonce("0")
            .build());
    clock.advance(Duration.ofMillis(400));
    tracker.onDeltaResponse(
        2,
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(CDS)
            .setSystemVersionInfo("v2")
            .setNonce("1")
            .build());
    clock.advance(Duration.ofMillis(200));

    assertThat(proxy("edge-2").laggingFor()).contains(Duration.ofMillis(600));
  }

  @Test
  void aStagedChangeWaitsForAnEnvoyThatKeepsUpButNotForOneThatLags() {
    sotwRequest(1, HUNG, "", "");
    sotwResponse(1, "older", "0");
    clock.advance(Duration.ofSeconds(5));

    sotwRequest(2, HEALTHY, "", "");
    sotwResponse(2, clusters, "0");
    assertThat(clustersApplied()).as("the healthy Envoy has not answered yet").isFalse();

    sotwRequest(2, HEALTHY, clusters, "0");
    assertThat(clustersApplied())
        .as("the healthy Envoy applied it; the one that lags holds nothing up")
        .isTrue();
  }

  @Test
  void anEnvoyThatJustReceivedTheChangeIsWaitedForUpToTheLagLimit() {
    sotwRequest(1, HEALTHY, "", "");
    sotwResponse(1, clusters, "0");
    clock.advance(LAG_LIMIT);
    assertThat(clustersApplied()).as("within the lag limit").isFalse();

    clock.advance(Duration.ofMillis(1));
    assertThat(clustersApplied()).as("past it").isTrue();
  }

  @Test
  void aLaggingEnvoyNeitherDelaysNorDecidesTheVerdict() {
    sotwRequest(1, HUNG, "", "");
    sotwResponse(1, "older", "0");
    clock.advance(Duration.ofSeconds(5));
    sotwRequest(2, HEALTHY, "", "");
    sotwResponse(2, clusters, "0");
    sotwRequest(2, HEALTHY, clusters, "0");

    assertThat(FleetVerdict.of(snapshot, snapshot, tracker.proxies()).kind())
        .isEqualTo(FleetVerdict.Kind.ACCEPTED);
  }

  @Test
  void withOnlyLaggingEnvoysThereIsNoVerdictYet() {
    sotwRequest(1, HUNG, "", "");
    sotwResponse(1, clusters, "0");
    clock.advance(Duration.ofSeconds(5));

    assertThat(FleetVerdict.of(snapshot, snapshot, tracker.proxies()).kind())
        .isEqualTo(FleetVerdict.Kind.PENDING);
  }
}
