package io.signalbox.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.signalbox.metrics.SignalboxMetrics;
import io.signalbox.testing.TestClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * When the quarantine may skip judging the fleet ({@link ProxyStatusTracker#surelyPending}): only
 * while no Envoy has a rejection on record and one that is not lagging is still answering.
 */
class SurelyPendingTest {

  private static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final Duration LAG_LIMIT = Duration.ofMillis(500);

  private final TestClock clock = new TestClock(Duration.ofDays(20_000));
  private final ProxyStatusTracker tracker =
      new ProxyStatusTracker(new NodeGroups(), clock, SignalboxMetrics.noop(), LAG_LIMIT);

  private static Node node(long stream) {
    return Node.newBuilder().setId("edge-" + stream).setCluster("edge").build();
  }

  private void connect(long stream) {
    tracker.onRequest(
        stream, DiscoveryRequest.newBuilder().setNode(node(stream)).setTypeUrl(CDS).build());
  }

  private void send(long stream, String nonce) {
    send(stream, nonce, "v" + nonce);
  }

  private void send(long stream, String nonce, String version) {
    tracker.onResponse(
        stream,
        DiscoveryResponse.newBuilder()
            .setTypeUrl(CDS)
            .setVersionInfo(version)
            .setNonce(nonce)
            .build());
  }

  private void answer(long stream, String nonce, boolean reject) {
    DiscoveryRequest.Builder request =
        DiscoveryRequest.newBuilder()
            .setNode(node(stream))
            .setTypeUrl(CDS)
            .setVersionInfo(reject ? "" : "v" + nonce)
            .setResponseNonce(nonce);
    if (reject) {
      request.setErrorDetail(com.google.rpc.Status.newBuilder().setMessage("no"));
    }
    tracker.onRequest(stream, request.build());
  }

  @Test
  void anEnvoyStillAnsweringMakesTheVerdictSurelyPending() {
    assertThat(tracker.surelyPending()).as("no Envoys").isFalse();
    connect(1);
    send(1, "0");

    assertThat(tracker.surelyPending()).isTrue();

    answer(1, "0", false);
    assertThat(tracker.surelyPending()).as("every response answered: judge the fleet").isFalse();
  }

  @Test
  void aResponseRepeatingTheAcknowledgedVersionChangesNothing() {
    connect(1);
    send(1, "0");
    answer(1, "0", false);

    send(1, "1", "v0");

    assertThat(tracker.surelyPending()).as("accepted as it was: judge the fleet").isFalse();
  }

  @Test
  void aRejectionOnRecordMeansTheFleetIsJudged() {
    connect(1);
    connect(2);
    send(1, "0");
    answer(1, "0", true);
    send(2, "0");

    assertThat(tracker.surelyPending()).as("edge-1 rejected, edge-2 still answering").isFalse();

    send(1, "1");
    assertThat(tracker.surelyPending()).as("edge-1 was sent something since").isTrue();
  }

  @Test
  void aRejectionLeavesTheRecordWithItsStream() {
    connect(1);
    connect(2);
    send(1, "0");
    answer(1, "0", true);
    send(2, "0");
    assertThat(tracker.surelyPending()).isFalse();

    tracker.onStreamClosed(1);

    assertThat(tracker.surelyPending()).isTrue();
  }

  @Test
  void aLaggingEnvoyDoesNotCountAsAnswering() {
    connect(1);
    send(1, "0");
    clock.advance(LAG_LIMIT.plusMillis(1));

    assertThat(tracker.surelyPending()).as("the verdict ignores a lagging Envoy").isFalse();
  }
}
