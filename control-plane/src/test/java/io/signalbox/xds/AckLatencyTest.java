package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.rpc.Status;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.micrometer.core.instrument.Timer;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.testing.TestClock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Push-to-ACK latency: from the response being sent to the request that acknowledges it, per type.
 */
class AckLatencyTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  private static final Node EDGE_1 = Node.newBuilder().setId("edge-1").setCluster("edge").build();

  private final TestClock clock =
      new TestClock(Duration.between(Instant.EPOCH, Instant.parse("2025-01-01T00:00:00Z")));
  private final SignalboxMetrics metrics = SignalboxMetrics.prometheus();
  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(
          new NodeGroups(), clock, metrics, ProxyStatusTracker.DEFAULT_LAG_LIMIT);

  @AfterEach
  void close() {
    metrics.close();
  }

  private Timer latency(String type) {
    return metrics.registry().get("signalbox.xds.ack.latency").tag("type", type).timer();
  }

  @Test
  void stateOfTheWorldAcksAreTimedFromTheirResponse() {
    tracker.onRequest(1, DiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(CDS).build());
    tracker.onResponse(
        1,
        DiscoveryResponse.newBuilder().setTypeUrl(CDS).setVersionInfo("v1").setNonce("0").build());
    clock.advance(Duration.ofMillis(40));
    tracker.onRequest(
        1,
        DiscoveryRequest.newBuilder()
            .setNode(EDGE_1)
            .setTypeUrl(CDS)
            .setVersionInfo("v1")
            .setResponseNonce("0")
            .build());

    assertThat(latency("clusters").count()).isEqualTo(1);
    assertThat(latency("clusters").totalTime(TimeUnit.MILLISECONDS)).isEqualTo(40);
    assertThat(latency("endpoints").count()).isZero();
  }

  @Test
  void nacksAndAnswersToSupersededResponsesAreNotTimed() {
    tracker.onRequest(1, DiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(CDS).build());
    tracker.onResponse(
        1,
        DiscoveryResponse.newBuilder().setTypeUrl(CDS).setVersionInfo("v1").setNonce("0").build());
    tracker.onResponse(
        1,
        DiscoveryResponse.newBuilder().setTypeUrl(CDS).setVersionInfo("v2").setNonce("1").build());
    clock.advance(Duration.ofMillis(5));
    tracker.onRequest(
        1,
        DiscoveryRequest.newBuilder()
            .setNode(EDGE_1)
            .setTypeUrl(CDS)
            .setVersionInfo("v1")
            .setResponseNonce("0")
            .build());
    tracker.onRequest(
        1,
        DiscoveryRequest.newBuilder()
            .setNode(EDGE_1)
            .setTypeUrl(CDS)
            .setVersionInfo("v1")
            .setResponseNonce("1")
            .setErrorDetail(Status.newBuilder().setMessage("no"))
            .build());

    assertThat(latency("clusters").count()).isZero();
  }

  @Test
  void deltaAcksAreTimedFromTheResponseTheyAnswer() {
    tracker.onDeltaRequest(
        2, DeltaDiscoveryRequest.newBuilder().setNode(EDGE_1).setTypeUrl(EDS).build());
    tracker.onDeltaResponse(
        2,
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(EDS)
            .setSystemVersionInfo("v1")
            .setNonce("0")
            .build());
    clock.advance(Duration.ofMillis(10));
    tracker.onDeltaResponse(
        2,
        DeltaDiscoveryResponse.newBuilder()
            .setTypeUrl(EDS)
            .setSystemVersionInfo("v2")
            .setNonce("1")
            .build());
    clock.advance(Duration.ofMillis(30));
    tracker.onDeltaRequest(
        2,
        DeltaDiscoveryRequest.newBuilder()
            .setNode(EDGE_1)
            .setTypeUrl(EDS)
            .setResponseNonce("0")
            .build());
    clock.advance(Duration.ofMillis(5));
    tracker.onDeltaRequest(
        2,
        DeltaDiscoveryRequest.newBuilder()
            .setNode(EDGE_1)
            .setTypeUrl(EDS)
            .setResponseNonce("1")
            .build());

    assertThat(latency("endpoints").count()).isEqualTo(2);
    // 40 ms for the first response, 35 ms for the second.
    assertThat(latency("endpoints").totalTime(TimeUnit.MILLISECONDS)).isEqualTo(75);
    assertThat(latency("endpoints").max(TimeUnit.MILLISECONDS)).isEqualTo(40);
  }
}
